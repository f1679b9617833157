"""The review form's per-flag reasons: one textarea per flag of the eligibility check.

``review.schema.json`` declares ``flag_acks`` as an object of reasons keyed by rule id, with
``x-keys-from: eligibility.flags``; this fills in one property per flag the instance carries,
titled with the flag's own message (people's words, never the rule id), so ``web.formkit``
renders and parses it like any other fieldset. Without flags the property is left out. The
engine still checks every reason (``handlers.rules.eligibility_checks.acknowledge_flags``).
"""
from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

KEYS_FROM = "x-keys-from"
REASON_MAX = 1000


def _at(data: Any, dotted: str) -> Any:
    for part in dotted.split("."):
        data = data.get(part) if isinstance(data, Mapping) else None
    return data


def needs_instance_data(schema: Mapping | None) -> bool:
    return bool(schema) and any(isinstance(p, Mapping) and KEYS_FROM in p
                                for p in (schema.get("properties") or {}).values())


def expand_keyed(schema: Mapping, data: Mapping) -> dict:
    """A copy of ``schema`` whose ``x-keys-from`` objects list one reason field per flag found in ``data``."""
    shown = copy.deepcopy(dict(schema))
    properties = shown.get("properties") or {}
    for key in [k for k, p in properties.items() if isinstance(p, Mapping) and KEYS_FROM in p]:
        items = _at(data, properties[key][KEYS_FROM])
        flags = [f for f in items if isinstance(f, Mapping) and f.get("rule")] if isinstance(items, list) else []
        if not flags:
            del properties[key]
            continue
        properties[key]["properties"] = {
            str(f["rule"]): {"type": "string", "maxLength": REASON_MAX, "title": f.get("message_zh") or "",
                             "x-title-en": f.get("message_en") or "", "x-placeholder": "研判理由（通过前必填）",
                             "x-placeholder-en": "Your reason (required to pass)"}
            for f in flags
        }
    return shown
