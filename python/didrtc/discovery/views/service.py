"""``GET /healthz``, ``/metrics``, ``/openapi.json`` and the ``flask purge-expired`` command."""

from __future__ import annotations

import json
from functools import cache
from importlib.resources import files
from typing import Any

import click
from flask import Blueprint, Response
from flask.cli import with_appcontext

from didrtc.discovery.errors import ServiceUnavailable
from didrtc.discovery.state import state
from didrtc.discovery.views.listings import audience

__all__ = ["bp", "openapi_document", "purge_command"]

bp = Blueprint("service", __name__)


@cache
def openapi_document() -> dict[str, Any]:
    """The OpenAPI 3.1 description of the API (``didrtc/discovery/openapi.json``)."""
    text = (files("didrtc.discovery") / "openapi.json").read_text(encoding="utf-8")
    document: dict[str, Any] = json.loads(text)
    return document


@bp.get("/healthz")
def healthz() -> Any:
    """200 when the database answers, with the ``aud`` deletions must name; else 503."""
    try:
        state().store.ping()
    except Exception as error:
        raise ServiceUnavailable("the database is unavailable") from error
    return {"status": "ok", "audience": audience()}


@bp.get("/metrics")
def metrics() -> Response:
    """Prometheus text exposition."""
    body, content_type = state().metrics.render()
    return Response(body, content_type=content_type)


@bp.get("/openapi.json")
def openapi() -> Any:
    """This API's OpenAPI 3.1 document."""
    return openapi_document()


@click.command("purge-expired")
@with_appcontext
def purge_command() -> None:
    """Delete expired listings, tombstones and nonces now."""
    removed = state().purger.purge_once()
    click.echo(f"purged {removed} expired rows")
