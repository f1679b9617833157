"""What the public sees of a complaint: its status by receipt number and access code."""
from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from engine.clock import china_date
from handlers.complaints._models import Complaint, RECEIPT_PREFIX, parse_receipt
from handlers.receipts import codes_match, receipt_number


def complaint_status(session: Session, receipt: object, code: object) -> dict[str, Any] | None:
    """``{receipt, status, received_on, decided_on, reply, replied_on}`` for a receipt and its access
    code; None if there is no such receipt or ``code`` is not its code (the caller cannot tell which).

    Only the status, its dates and the reply to the reporter (standard wording citing the
    articles): never the subject, the reporter, the findings or the officials' reasons.
    """
    parsed = parse_receipt(receipt)
    if parsed is None:
        return None
    year, key = parsed
    row = session.get(Complaint, key)
    if row is None or row.receipt != receipt_number(RECEIPT_PREFIX, year, key):
        return None
    if not codes_match(code, row.access_code):
        return None
    return {"receipt": row.receipt, "status": row.status, "received_on": china_date(row.received_at),
            "decided_on": china_date(row.decided_at) if row.decided_at else None,
            "reply": row.reply, "replied_on": china_date(row.replied_at) if row.replied_at else None}
