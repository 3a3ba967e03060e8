"""The discovery server's WSGI entry for gunicorn (see README.md here).

Configured entirely by environment variables: ``DIDRTC_DISCOVERY_DATABASE_URL``
and the other ``DIDRTC_DISCOVERY_*`` keys documented in docs/discovery.md.
"""

from __future__ import annotations

from didrtc.discovery.app import create_app

app = create_app()
