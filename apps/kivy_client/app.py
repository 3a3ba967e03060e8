"""The Kivy app: a screen manager, screens loaded when first shown, and the flows between them.

The app and its network tasks share one asyncio event loop: :func:`serve`
gathers ``App.async_run(async_lib="asyncio")`` with :meth:`Jobs.run`, and the
flows below (search, connect, chat) run as jobs that await the service layer
(:mod:`apps.kivy_client.services`) and then set the screens' Kivy properties.
A UI callback never blocks: anything slow is a job, and the Argon2id of an
encrypted identity runs in a worker thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import importlib
import logging
from pathlib import Path
from typing import Any, Final

from kivy.app import App  # type: ignore[import-untyped]
from kivy.clock import Clock  # type: ignore[import-untyped]
from kivy.lang import Builder  # type: ignore[import-untyped]
from kivy.properties import ObjectProperty, StringProperty  # type: ignore[import-untyped]
from kivy.uix.screenmanager import (  # type: ignore[import-untyped]
    NoTransition,
    Screen,
    ScreenManager,
)

from apps.kivy_client import label_textures
from apps.kivy_client.failures import explain
from apps.kivy_client.identity_store import IdentityStore
from apps.kivy_client.jobs import Jobs
from apps.kivy_client.screens import SCREENS
from apps.kivy_client.services import ChatSession, ClientService, ListingSummary
from apps.kivy_client.settings_store import Settings, SettingsError, SettingsStore
from didrtc import Identity
from didrtc.signaling import ChannelClosed

__all__ = ["ClientApp", "serve"]

logger = logging.getLogger(__name__)

HERE: Final = Path(__file__).resolve().parent
PREPARE_DELAY: Final = 1.0
"""Seconds after the first screen before the others are built in the background."""
PREPARE_INTERVAL: Final = 0.25


class ClientApp(App):  # type: ignore[misc]
    """The didrtc offerer app for one data directory (identity and settings)."""

    title = "didrtc"
    did = StringProperty("")
    """The user's DID ('' until there is an identity)."""
    settings = ObjectProperty(None, rebind=False)
    """The current :class:`Settings`."""

    def __init__(self, data_dir: Path, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.data_dir = data_dir
        self.identities = IdentityStore(data_dir)
        self.settings_store = SettingsStore(data_dir)
        self.settings = self.settings_store.load()
        self.jobs = Jobs()
        self.jobs.at_stop(self._close_network)
        self.service: ClientService | None = None
        self.session: ChatSession | None = None
        self.results: list[ListingSummary] = []
        self.listing: ListingSummary | None = None
        self._search: asyncio.Task[None] | None = None
        self._connecting: asyncio.Task[None] | None = None
        self._receiving: asyncio.Task[None] | None = None

    # Screens.

    def build(self) -> ScreenManager:
        label_textures.install()
        importlib.import_module("apps.kivy_client.widgets")  # registers the shared widget classes
        Builder.load_file(str(HERE / "widgets.kv"))
        return ScreenManager(transition=NoTransition())

    def screen(self, name: str) -> Screen:
        """The screen called ``name``, its module imported and ``.kv`` loaded on first use."""
        manager: ScreenManager = self.root
        if not manager.has_screen(name):
            module = importlib.import_module(f"apps.kivy_client.screens.{name}")
            Builder.load_file(str(HERE / "screens" / f"{name}.kv"))
            manager.add_widget(getattr(module, SCREENS[name])(name=name))
        screen: Screen = manager.get_screen(name)
        return screen

    def show(self, name: str) -> Screen:
        """Switch to the screen ``name``."""
        screen = self.screen(name)
        if name == "settings":
            screen.show(self.settings)
        self.root.current = name
        return screen

    def on_start(self) -> None:
        Clock.schedule_once(self._prepare_screens, PREPARE_DELAY)
        # Everything built so far (Kivy, aiortc, the first screen) lives as long as the app:
        # keep it out of the cyclic GC's full collections, which otherwise stall a frame.
        gc.freeze()
        onboarding = self.screen("onboarding")
        if not self.identities.exists():
            onboarding.mode = "welcome"
            self.show("onboarding")
            return
        try:
            onboarding.did = self.identities.stored_did()
            if self.identities.is_encrypted():
                onboarding.mode = "unlock"
                self.show("onboarding")
                return
            identity = self.identities.load()
        except Exception as error:
            failure = explain(error)
            onboarding.mode = "unlock"
            onboarding.error = f"{failure.title}: {failure.detail}"
            self.show("onboarding")
            return
        self._use_identity(identity)
        self.show("search")
        self.search("", "")

    def _prepare_screens(self, *_args: Any) -> None:
        # Each screen is built when first needed; once the first one is up, the rest are built
        # in idle moments, one a frame, so that the first connection does not pay for them.
        for name in SCREENS:
            if not self.root.has_screen(name):
                self.screen(name)
                Clock.schedule_once(self._prepare_screens, PREPARE_INTERVAL)
                return

    def on_stop(self) -> None:
        self.jobs.stop()

    # Identity.

    def _use_identity(self, identity: Identity) -> None:
        self.did = identity.did
        self.service = ClientService(identity, self.settings)

    def _identity_job(self, make: Any, *args: Any) -> None:
        onboarding = self.screen("onboarding")
        if onboarding.busy:
            return
        onboarding.busy = True
        onboarding.error = ""

        async def run() -> None:
            try:
                identity = await asyncio.to_thread(make, *args)
            except Exception as error:
                failure = explain(error)
                onboarding.error = f"{failure.title}. {failure.explanation} ({failure.detail})"
                return
            finally:
                onboarding.busy = False
            self._use_identity(identity)
            onboarding.did = identity.did
            onboarding.mode = "ready"

        self.jobs.start(run(), "identity")

    def create_identity(self, passphrase: str) -> None:
        """Create the user's identity (encrypted when ``passphrase`` is not empty)."""
        self._identity_job(self.identities.create, passphrase or None)

    def import_identity(self, path: str, passphrase: str) -> None:
        """Import an identity file (decrypted with ``passphrase`` when it is encrypted)."""
        if not path.strip():
            self.screen("onboarding").error = "Type the path of the identity file to import."
            return
        self._identity_job(self.identities.import_file, Path(path.strip()), passphrase or None)

    def unlock_identity(self, passphrase: str) -> None:
        """Open the encrypted identity with ``passphrase``."""
        self._identity_job(self.identities.load, passphrase or None)

    def finish_onboarding(self) -> None:
        self.show("search")
        self.search("", "")

    # Settings.

    def save_settings(
        self, discovery_url: str, bootstrap_nodes: str, ice_servers: str, host_addresses: str
    ) -> None:
        """Check and save the settings form, then search again with them."""
        screen = self.screen("settings")
        try:
            settings = Settings.from_form(
                discovery_url, bootstrap_nodes, ice_servers, host_addresses
            )
        except SettingsError as error:
            screen.refuse(error.field, error.message)
            return
        try:
            self.settings_store.save(settings)
        except OSError as error:
            screen.refuse("", f"Could not save the settings: {error}")
            return
        self.settings = settings
        if self.service is not None:
            stale = self.service.replace_settings(settings)
            if stale is not None:
                self.jobs.start(stale.close(), "leave the DHT")
        search = self.show("search")
        self.search(search.ids.query.text, search.category)

    # Search.

    def search(self, query: str, category: str) -> None:
        """Search the directory; the previous search, if still running, is abandoned."""
        if self.service is None:
            return
        service = self.service
        screen = self.screen("search")
        if self._search is not None:
            self._search.cancel()
        screen.loading()

        async def run() -> None:
            try:
                found = await service.search(query, category or None)
            except Exception as error:
                screen.fail(explain(error))
                return
            self.results = found
            screen.show_results(found)

        self._search = self.jobs.start(run(), "search")

    # Connect.

    def pick(self, index: int) -> None:
        """Connect to the ``index``-th search result (while the results are shown)."""
        if self.screen("search").state != "results":
            return  # a tap on the hidden list, while a search runs or its error shows
        if 0 <= index < len(self.results):
            self.connect_to(self.results[index])

    def connect_to(self, listing: ListingSummary) -> None:
        if self.service is None or (self._connecting is not None and not self._connecting.done()):
            return
        service = self.service
        self.listing = listing
        screen = self.screen("connect")
        screen.begin(listing.name, listing.did)
        self.show("connect")

        async def run() -> None:
            try:
                session = await service.connect(listing, screen.stage_done)
            except asyncio.CancelledError:
                screen.cancelled()
                raise
            except Exception as error:
                logger.info("connecting to %s failed: %r", listing.did, error)
                screen.fail(explain(error))
                return
            self._start_chat(session)

        self._connecting = self.jobs.start(run(), "connect")

    def cancel_connect(self) -> None:
        """Stop the connection attempt under way."""
        if self._connecting is not None:
            self._connecting.cancel()

    def retry_connect(self) -> None:
        if self.listing is not None:
            self.connect_to(self.listing)

    # Chat.

    def _start_chat(self, session: ChatSession) -> None:
        self.session = session
        chat = self.screen("chat")
        chat.begin(session.name, session.remote_did)
        self.show("chat")

        async def receive() -> None:
            try:
                while True:
                    chat.add(await session.receive(), mine=False)
            except ChannelClosed as error:
                if self.session is session:
                    chat.closed(f"The connection closed: {error}")

        self._receiving = self.jobs.start(receive(), "receive")

    def send_message(self, text: str) -> None:
        """Send ``text`` to the answerer and show it in the conversation."""
        session, chat = self.session, self.screen("chat")
        if session is None or not text.strip():
            return
        chat.ids.draft.text = ""

        async def run() -> None:
            try:
                await session.send(text)
            except ChannelClosed as error:
                chat.closed(f"Not sent: {error}")
                return
            chat.add(text, mine=True)

        self.jobs.start(run(), "send")

    def disconnect(self) -> None:
        """Close the conversation and go back to the results."""
        session, self.session = self.session, None
        if self._receiving is not None:
            self._receiving.cancel()
        if session is not None:
            self.jobs.start(session.close(), "disconnect")
        self.show("search")

    async def _close_network(self) -> None:
        session, self.session = self.session, None
        if session is not None:
            await session.close()
        if self.service is not None:
            await self.service.close()


async def serve(app: ClientApp) -> None:
    """Run ``app`` and its network jobs on the running event loop until the window closes."""
    network = asyncio.ensure_future(app.jobs.run())
    try:
        await app.async_run(async_lib="asyncio")
    finally:
        app.jobs.stop()
        with contextlib.suppress(asyncio.CancelledError):
            await network
