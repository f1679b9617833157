"""The one place that turns engine errors into HTTP responses, and the input boundary's registration.

Answers never echo text that cannot be encoded: messages and field names pass through
``engine.text.safe`` (lone surrogates and control characters written as ``\\uXXXX``), so
rendering an error can never raise on the caller's input (``web.inputs_guard``).
"""
from __future__ import annotations

from flask import Flask, jsonify, render_template, request
from werkzeug.exceptions import HTTPException

from engine import text
from engine.errors import EngineError
from web import inputs_guard


def _wants_json() -> bool:
    return request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json"


def register(app: Flask) -> None:
    inputs_guard.init_app(app)  # 400 for text that is not valid Unicode, before any view

    @app.errorhandler(EngineError)
    def engine_error(err: EngineError):
        body = text.safe(err.to_dict())
        if _wants_json():
            return jsonify(body), err.http_status
        return render_template("error.html", status=err.http_status, message=body["message"],
                               fields=body["fields"]), err.http_status

    @app.errorhandler(HTTPException)
    def http_error(err: HTTPException):
        message = text.safe(err.description or "")
        headers = _kept_headers(err)  # e.g. a 405's Allow (RFC 9110)
        if _wants_json():
            return jsonify({"error": err.name.lower().replace(" ", "_"), "message": message,
                            "fields": {}}), err.code, headers
        return render_template("error.html", status=err.code, message=message, fields={}), err.code, headers


def _kept_headers(err: HTTPException) -> list[tuple[str, str]]:
    """The headers Werkzeug gives the error (``Allow`` of a 405, ``WWW-Authenticate`` of a 401), but its content type."""
    return [(name, value) for name, value in err.get_headers() if name.lower() != "content-type"]
