"""Connect: each stage of reaching the answerer as it happens, cancel, and failures in words."""

from __future__ import annotations

from typing import Any

from kivy.factory import Factory  # type: ignore[import-untyped]
from kivy.properties import (  # type: ignore[import-untyped]
    DictProperty,
    OptionProperty,
    StringProperty,
)
from kivy.uix.screenmanager import Screen  # type: ignore[import-untyped]

from apps.kivy_client.failures import Failure
from apps.kivy_client.services import STAGE_TITLES, STAGES

__all__ = ["ConnectScreen"]


class ConnectScreen(Screen):  # type: ignore[misc]
    """The progress of one connection attempt."""

    name_shown = StringProperty("")
    """The answerer's display name."""
    did = StringProperty("")
    state = OptionProperty("connecting", options=["connecting", "connected", "failed", "cancelled"])
    stages = DictProperty({stage: "pending" for stage in STAGES})
    """Each stage's status: pending, active, done or failed."""
    failure_title = StringProperty("")
    failure_text = StringProperty("")
    failure_detail = StringProperty("")

    def on_kv_post(self, _base_widget: Any) -> None:
        rows = self.ids.stages
        for stage in STAGES:
            row = Factory.StageRow(title=STAGE_TITLES[stage])
            self.bind(
                stages=lambda _screen, stages, row=row, stage=stage: row.setter("status")(
                    row, stages[stage]
                )
            )
            rows.add_widget(row)

    def begin(self, name: str, did: str) -> None:
        """A new attempt to reach ``name`` (``did``)."""
        self.name_shown = name
        self.did = did
        self.failure_title = self.failure_text = self.failure_detail = ""
        self.stages = {stage: "active" if stage == STAGES[0] else "pending" for stage in STAGES}
        self.state = "connecting"

    def stage_done(self, finished: str) -> None:
        """``finished`` completed: mark it done and the next one active."""
        stages = dict(self.stages)
        stages[finished] = "done"
        following = STAGES.index(finished) + 1
        if following < len(STAGES):
            stages[STAGES[following]] = "active" if following < len(STAGES) - 1 else "done"
        self.stages = stages
        if finished == STAGES[-1]:
            self.state = "connected"

    def fail(self, failure: Failure) -> None:
        self.stages = {
            stage: "failed" if status == "active" else status
            for stage, status in self.stages.items()
        }
        self.failure_title = failure.title
        self.failure_text = failure.explanation
        self.failure_detail = failure.detail
        self.state = "failed"

    def cancelled(self) -> None:
        self.stages = {
            stage: "pending" if status == "active" else status
            for stage, status in self.stages.items()
        }
        self.state = "cancelled"
