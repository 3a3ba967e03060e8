"""Every error the server answers with is ``{"error": code, "message": ...}`` with a 4xx status.

Handlers cover the API's own errors, every werkzeug HTTP error (404, 405,
413, 429 from the rate limiter...), a database that cannot be reached (503)
and, as the last resort for a bug, any other exception (500, logged with its
traceback; the response never carries internals).
"""

from __future__ import annotations

import logging
import sys

from flask import Flask, Response, jsonify
from flask_limiter import RateLimitExceeded
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from werkzeug.exceptions import HTTPException

from didrtc.discovery.errors import DiscoveryError

__all__ = ["error_response", "register"]

logger = logging.getLogger(__name__)

_HTTP_CODES = {
    400: "bad_request",
    404: "not_found",
    405: "method_not_allowed",
    413: "too_large",
    415: "unsupported_media_type",
    429: "rate_limited",
}
_MESSAGES = {
    404: "no such route; see /openapi.json",
    413: "the request body is over the server's limit",
}


def error_response(code: str, message: str, status: int) -> Response:
    """The JSON error response."""
    response = jsonify({"error": code, "message": message})
    response.status_code = status
    return response


def _discovery_error(error: DiscoveryError) -> Response:
    return error_response(error.code, error.message, error.status)


def _rate_limited(error: RateLimitExceeded) -> Response:
    response = error_response("rate_limited", f"rate limit exceeded: {error.description}", 429)
    return response


def _http_error(error: HTTPException) -> Response:
    status = error.code or 500
    if status >= 500:
        logger.error("HTTP %s: %s", status, error.description)
        response = error_response("internal_error", "the server failed", status)
    else:
        code = _HTTP_CODES.get(status, "bad_request")
        message = _MESSAGES.get(status) or error.description or code
        response = error_response(code, message, status)
    if status == 405 and error.response is None:
        allowed = getattr(error, "valid_methods", None)
        if allowed:
            response.headers["Allow"] = ", ".join(allowed)
    return response


def _database_unavailable(error: Exception) -> Response:
    logger.error("database unavailable: %s", error)
    return error_response("unavailable", "the database is unavailable; retry later", 503)


def _connection_lost_under_the_driver(error: Exception) -> bool:
    # The write path runs statements on psycopg's own cursor (store/driver_statement.py),
    # so a connection lost mid-request raises psycopg's error, not SQLAlchemy's wrapper.
    # psycopg only raises it once loaded, so there is no need to import it here.
    psycopg = sys.modules.get("psycopg")
    return psycopg is not None and isinstance(error, psycopg.OperationalError)


def _unexpected(error: Exception) -> Response:
    if isinstance(error, HTTPException):
        return _http_error(error)
    if (
        isinstance(error, (OperationalError, PoolTimeout))
        or (isinstance(error, DBAPIError) and error.connection_invalidated)
        or _connection_lost_under_the_driver(error)
    ):
        return _database_unavailable(error)
    logger.exception("unexpected error answering a request")
    return error_response("internal_error", "the server failed unexpectedly", 500)


def register(app: Flask) -> None:
    """Install the handlers on ``app``."""
    app.register_error_handler(DiscoveryError, _discovery_error)
    app.register_error_handler(RateLimitExceeded, _rate_limited)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _unexpected)
