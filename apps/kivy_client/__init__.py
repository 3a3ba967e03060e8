"""The didrtc offerer app (Kivy): find an answerer, connect over an encrypted channel, chat.

Run it with ``python -m apps.kivy_client`` (or the ``didrtc-client`` command).
:mod:`~apps.kivy_client.services` is the only part that talks to the network,
through didrtc's public offerer, discovery and DHT APIs; the screens under
:mod:`~apps.kivy_client.screens` show state and forward what the user asks for.
"""

from __future__ import annotations
