"""Search: a query field, category chips, and the results with empty, loading and error states."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from kivy.factory import Factory  # type: ignore[import-untyped]
from kivy.properties import (  # type: ignore[import-untyped]
    ListProperty,
    OptionProperty,
    StringProperty,
)
from kivy.uix.screenmanager import Screen  # type: ignore[import-untyped]

from apps.kivy_client.failures import Failure
from apps.kivy_client.services import ListingSummary

__all__ = ["SearchScreen"]


class SearchScreen(Screen):  # type: ignore[misc]
    """What the user searched for and what came back."""

    state = OptionProperty("idle", options=["idle", "loading", "results", "empty", "error"])
    category = StringProperty("")
    """The selected category chip ('' for all)."""
    categories = ListProperty()
    """The chips: every category seen in results so far, in order of first sight."""
    results = ListProperty()
    """The results list's data: one dict of :class:`ResultRow` properties per listing."""
    error_title = StringProperty("")
    error_text = StringProperty("")
    error_detail = StringProperty("")

    def on_categories(self, _instance: Any, categories: Sequence[str]) -> None:
        chips = self.ids.chips
        chips.clear_widgets()
        for name in ("", *categories):
            chip = Factory.Chip(
                text=name or "all",
                group="category",
                allow_no_selection=False,
                state="down" if name == self.category else "normal",
            )
            chip.bind(on_release=lambda _chip, name=name: self.choose_category(name))
            chips.add_widget(chip)

    def choose_category(self, name: str) -> None:
        from kivy.app import App  # type: ignore[import-untyped]

        self.category = name
        App.get_running_app().search(self.ids.query.text, name)

    def loading(self) -> None:
        self.state = "loading"

    def show_results(self, found: Sequence[ListingSummary]) -> None:
        self.results = [
            {
                "name": summary.name,
                "description": summary.description,
                "categories": " · ".join(summary.categories),
                "did": summary.did,
            }
            for summary in found
        ]
        seen = list(self.categories)
        for summary in found:
            seen.extend(c for c in summary.categories if c not in seen)
        if seen != list(self.categories):
            self.categories = seen
        self.state = "results" if found else "empty"

    def fail(self, failure: Failure) -> None:
        self.error_title = failure.title
        self.error_text = failure.explanation
        self.error_detail = failure.detail
        self.results = []
        self.state = "error"
