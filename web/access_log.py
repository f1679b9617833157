"""The access log (等保 2.0): sensitive reads and exports by auditors and officials.

Being written for issue 14; the signature is fixed so other pages can call it already.
"""
from __future__ import annotations


def record_access(action: str, object_ref: str, *, result: str = "ok", detail: dict | None = None) -> None:
    """Record that the current user did ``action`` (e.g. ``audit.view_instance``) on ``object_ref``
    (e.g. ``instance:17``) with ``result``; the time, user and source address come from the request."""
