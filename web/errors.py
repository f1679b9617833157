"""The one place that turns engine errors into HTTP responses."""
from __future__ import annotations

from flask import Flask, jsonify, render_template, request
from werkzeug.exceptions import HTTPException

from engine.errors import EngineError


def _wants_json() -> bool:
    return request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json"


def register(app: Flask) -> None:
    @app.errorhandler(EngineError)
    def engine_error(err: EngineError):
        if _wants_json():
            return jsonify(err.to_dict()), err.http_status
        return render_template("error.html", status=err.http_status, message=err.message,
                               fields=err.fields), err.http_status

    @app.errorhandler(HTTPException)
    def http_error(err: HTTPException):
        if _wants_json():
            return jsonify({"error": err.name.lower().replace(" ", "_"), "message": err.description,
                            "fields": {}}), err.code
        return render_template("error.html", status=err.code, message=err.description, fields={}), err.code
