"""``greenflow audit``: the auditors' commands. Replay lives in ``web.cli_audit_replay``, checkpoints
and exports in ``web.cli_audit_evidence``; both add their commands to this group."""
from __future__ import annotations

import click

from web.cli import _EngineErrors


@click.group("audit", cls=_EngineErrors)
def audit_group() -> None:
    """Auditors: replay histories, checkpoints, exports."""
