"""Security headers on every response, the Secure flag of cookies, and trusted proxies.

A small ``after_request`` hook of our own (no extra package): it runs for pages, JSON, static
files and error pages alike. The policy allows scripts from this site only (no inline script,
no ``eval``) and style sheets from this site only; the one relaxation is ``style-src-attr
'unsafe-inline'``: inline style *attributes*, which bpmn-js writes into the markup it builds to
lay out the diagram (no ``<style>`` element, no inline script). Our templates use none (a test
checks). Nothing is framed, nothing posts elsewhere.

Cookies: the session cookie is HttpOnly and SameSite=Lax; its Secure flag follows
``secure_cookies``: ``auto`` (the default) sets it when the request came over HTTPS, as seen
after ProxyFix; ``true`` / ``false`` force it. ``trusted_proxies`` = N > 0 wraps the app in
Werkzeug's ProxyFix trusting the last N values of X-Forwarded-For and X-Forwarded-Proto (the
client address then feeds the rate limits and the login log).
"""
from __future__ import annotations

from flask import Flask, Response, has_request_context, request
from flask.sessions import SecureCookieSessionInterface
from werkzeug.middleware.proxy_fix import ProxyFix

import config as _config

CONTENT_SECURITY_POLICY = "; ".join([
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "style-src-attr 'unsafe-inline'",  # bpmn-js: style="…" on the elements it builds
    "img-src 'self' data:",
    "font-src 'self' data:",
    "connect-src 'self'",
    "object-src 'none'",
    "frame-ancestors 'none'",
    "base-uri 'self'",
    "form-action 'self'",
])
HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}
_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")


def secure_cookie_mode(value: str | bool | None) -> bool | None:
    """``secure_cookies`` as True (always), False (never) or None (auto: when over HTTPS)."""
    if isinstance(value, bool) or value is None:
        return value
    text = value.strip().lower()
    if text in ("", "auto"):
        return None
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ValueError(f"GREENFLOW_SECURE_COOKIES must be auto, true or false, not {value!r}")


class SessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie session, with the Secure flag decided per request in auto mode."""

    def get_cookie_secure(self, app: Flask) -> bool:
        mode = app.config.get("GREENFLOW_SECURE_COOKIES")
        if mode is None:
            return has_request_context() and request.is_secure
        return bool(mode)


def add_headers(response: Response) -> Response:
    for name, value in HEADERS.items():
        response.headers.setdefault(name, value)
    return response


def init_app(app: Flask, settings: _config.Settings) -> None:
    mode = secure_cookie_mode(settings.secure_cookies)
    if settings.trusted_proxies < 0:
        raise ValueError(f"GREENFLOW_TRUSTED_PROXIES must be 0 or more, not {settings.trusted_proxies}")
    if settings.trusted_proxies:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=settings.trusted_proxies,  # type: ignore[method-assign]
                                x_proto=settings.trusted_proxies)
    app.config["GREENFLOW_SECURE_COOKIES"] = mode
    app.config.update(SESSION_COOKIE_HTTPONLY=True, SESSION_COOKIE_SAMESITE="Lax",
                      REMEMBER_COOKIE_HTTPONLY=True, REMEMBER_COOKIE_SAMESITE="Lax",
                      SESSION_COOKIE_SECURE=mode is True, REMEMBER_COOKIE_SECURE=mode is True)
    app.session_interface = SessionInterface()
    app.after_request(add_headers)
