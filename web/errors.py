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
from web import error_words, inputs_guard
from web.i18n import pick

# Werkzeug's own descriptions are English sentences for developers; a page says it in people's words.
_HTTP_WORDS = {
    400: ("请求无法处理，请检查填写的内容后重试", "The request could not be handled; check what you entered and try again"),
    401: ("请先登录", "Please sign in first"),
    403: ("您没有访问此页面的权限", "You do not have access to this page"),
    404: ("页面不存在，或已被移除", "This page does not exist or was removed"),
    405: ("此页面不支持该操作", "This page does not accept that action"),
    413: ("上传的文件太大", "The uploaded file is too large"),
    429: ("操作过于频繁，请稍后再试", "Too many attempts; please wait a moment and try again"),
}


def _wants_json() -> bool:
    return request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json"


def register(app: Flask) -> None:
    inputs_guard.init_app(app)  # 400 for text that is not valid Unicode, before any view

    @app.errorhandler(EngineError)
    def engine_error(err: EngineError):
        body = text.safe(err.to_dict())
        if _wants_json():
            return jsonify(body), err.http_status
        return render_template("error.html", status=err.http_status,
                               message=error_words.for_people(body["message"]),
                               fields=body["fields"]), err.http_status

    @app.errorhandler(HTTPException)
    def http_error(err: HTTPException):
        message = text.safe(err.description or "")
        headers = _kept_headers(err)  # e.g. a 405's Allow (RFC 9110)
        if _wants_json():
            return jsonify({"error": err.name.lower().replace(" ", "_"), "message": message,
                            "fields": {}}), err.code, headers
        return render_template("error.html", status=err.code, message=_page_words(err, message),
                               fields={}), err.code, headers


def _kept_headers(err: HTTPException) -> list[tuple[str, str]]:
    """The headers Werkzeug gives the error (``Allow`` of a 405, ``WWW-Authenticate`` of a 401), but its content type."""
    return [(name, value) for name, value in err.get_headers() if name.lower() != "content-type"]


def _page_words(err: HTTPException, message: str) -> str:
    """A view's own description as it is; Werkzeug's default one replaced by a sentence for people."""
    if message == (type(err).description or "") and err.code in _HTTP_WORDS:
        return pick(*_HTTP_WORDS[err.code])
    return message
