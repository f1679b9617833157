"""What was applied for: an instance's start form, shown read-only on the task and instance pages."""
from __future__ import annotations

from flask import url_for

from web import formkit
from web.extensions import engine


def start_form_entries(instance: dict, filenames: dict[str, str] | None = None) -> list[formkit.Entry]:
    """The start form's fields with their current values.

    The values are those the instance holds now under the form's ``x-data-key`` (so an
    amendment shows), else what was submitted at the start.
    """
    schema = engine().start_form(instance["version"], instance["process_id"])
    if not schema:
        return []
    key = schema.get("x-data-key")
    data = instance["data"].get(key) if key else None
    if not isinstance(data, dict):
        started = next((e for e in instance["events"] if e["type"] == "instance_started"), None)
        data = ((started or {}).get("payload") or {}).get("submitted") or {}
    return formkit.summarize(schema, data, filenames=filenames or {},
                             file_url=lambda sha: url_for("instances.download", instance_id=instance["id"],
                                                          sha256=sha))
