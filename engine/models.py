"""The engine's tables.

The instance row holds the serialized workflow (without its spec, stored once per
definition version). Everything the inbox, the scheduler and message delivery query lives
in derived tables (``human_task``, ``timer``, ``message_wait``) that each command
rewrites for its instance, so no query ever reads JSON state.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    JSON,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from engine.db import Base, UTCDateTime

INSTANCE_STATUSES = ("running", "waiting", "completed", "cancelled", "incident")
# open: failing; resolved: the failure is gone (retried, superseded, or fixed by an operator);
# dismissed: an operator decided it needs nothing more.
INCIDENT_STATUSES = ("open", "resolved", "dismissed")


class DefinitionVersion(Base):
    """An immutable, content-hashed bundle of diagrams and forms; instances pin one."""

    __tablename__ = "definition_version"

    id: Mapped[int] = mapped_column(primary_key=True)  # the version number
    # Not unique: deploying the content of an older version again (a revert) stores a new version;
    # only content identical to the newest version is a no-op (engine.deploy.store).
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    deployed_by: Mapped[str] = mapped_column(String(120))
    deployed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    # What deploy learnt from the files: processes, lanes, task properties (see engine.deploy).
    meta: Mapped[dict] = mapped_column(JSON)

    files: Mapped[list["DefinitionFile"]] = relationship(
        back_populates="version", order_by="DefinitionFile.path", lazy="selectin"
    )


class DefinitionFile(Base):
    __tablename__ = "definition_file"
    __table_args__ = (UniqueConstraint("version_id", "path"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("definition_version.id"), index=True)
    path: Mapped[str] = mapped_column(String(255))  # relative to the bundle root, e.g. forms/review.schema.json
    sha256: Mapped[str] = mapped_column(String(64))
    content: Mapped[bytes] = mapped_column(LargeBinary)

    version: Mapped[DefinitionVersion] = relationship(back_populates="files")


class ProcessInstance(Base):
    __tablename__ = "process_instance"
    __table_args__ = (Index("ix_process_instance_process_status", "process_id", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("definition_version.id"))
    process_id: Mapped[str] = mapped_column(String(120))
    business_key: Mapped[str | None] = mapped_column(String(120), index=True)
    title: Mapped[str] = mapped_column(String(300), default="")
    status: Mapped[str] = mapped_column(String(20))
    started_by: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    completed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    # Optimistic version of the state; bumped by every command.
    row_version: Mapped[int] = mapped_column(Integer, default=0)
    state_format: Mapped[int] = mapped_column(Integer)
    state: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)  # zlib-compressed JSON (engine.state)
    # Head of the event hash chain, kept here so appending needs no extra query.
    event_seq: Mapped[int] = mapped_column(Integer, default=0)
    last_hash: Mapped[str] = mapped_column(String(64), default="")
    # Messages buffered for this instance and not yet delivered (skip the lookup when zero).
    buffered_count: Mapped[int] = mapped_column(Integer, default=0)
    # A few data fields copied out for lists and search (domain-agnostic: the diagram decides).
    summary: Mapped[dict] = mapped_column(JSON, default=dict)


class HumanTask(Base):
    """A user task as the inbox sees it: who (role + scope), when (due), and what happened."""

    __tablename__ = "human_task"
    __table_args__ = (
        Index("ix_human_task_inbox", "status", "role", "scope", "due_at"),
        Index("ix_human_task_assignee", "status", "assignee", "due_at"),
        # The inbox's counts read only these two (bench/inbox.py): 可认领 / 逾期, and 已办.
        Index("ix_human_task_claimable", "status", "assignee", "role", "scope", "due_at", "instance_id"),
        Index("ix_human_task_done", "completed_by", "status", "completed_at", "instance_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instance.id"), index=True)
    task_guid: Mapped[str] = mapped_column(String(36), unique=True)
    process_id: Mapped[str] = mapped_column(String(120))  # the (sub)process that owns the task
    bpmn_id: Mapped[str] = mapped_column(String(120))
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(60))
    scope: Mapped[str] = mapped_column(String(80))
    form: Mapped[str | None] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(20))  # open / completed / cancelled
    assignee: Mapped[str | None] = mapped_column(String(120))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    due_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    completed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    completed_by: Mapped[str | None] = mapped_column(String(120))
    outcome: Mapped[str | None] = mapped_column(String(60))
    # 委派 (delegation): while ``owner`` is set, ``assignee`` is the delegate, who may only propose
    # (``draft``); the task then returns to the owner, who signs off by completing it.
    owner: Mapped[str | None] = mapped_column(String(120))
    draft: Mapped[dict | None] = mapped_column(JSON)
    # 催办: the last time a supervisor urged this task, and how often.
    urged_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    urge_count: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))


class TaskCc(Base):
    """抄送: a colleague who may read a task (and its instance) without acting on it."""

    __tablename__ = "task_cc"
    __table_args__ = (UniqueConstraint("task_id", "username"), Index("ix_task_cc_user", "username", "created_at"))

    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("human_task.id"))
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instance.id"), index=True)
    username: Mapped[str] = mapped_column(String(120))
    cc_by: Mapped[str] = mapped_column(String(120))
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    read_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class InstanceFacet(Base):
    """One scalar of an instance's summary, indexed so inbox filters never read JSON."""

    __tablename__ = "instance_facet"
    __table_args__ = (Index("ix_instance_facet_lookup", "key", "value", "instance_id"),)

    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instance.id"), primary_key=True)
    key: Mapped[str] = mapped_column(String(60), primary_key=True)
    value: Mapped[str] = mapped_column(String(200))


class Attachment(Base):
    """A file attached to an instance; the bytes live content-addressed (sha256) outside the web root."""

    __tablename__ = "attachment"
    __table_args__ = (UniqueConstraint("instance_id", "sha256", "field"), Index("ix_attachment_sha", "sha256"))

    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instance.id"), index=True)
    sha256: Mapped[str] = mapped_column(String(64))
    field: Mapped[str] = mapped_column(String(120))  # the form field it was uploaded in
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(120))
    size: Mapped[int] = mapped_column(Integer)
    uploaded_by: Mapped[str] = mapped_column(String(120))
    uploaded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class Timer(Base):
    """A waiting timer; the scheduler reads only this table."""

    __tablename__ = "timer"

    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instance.id"), index=True)
    task_guid: Mapped[str] = mapped_column(String(36), unique=True)
    bpmn_id: Mapped[str] = mapped_column(String(120))
    due_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), index=True)


class MessageWait(Base):
    """An instance waiting for a named message (a catch event or event-based gateway)."""

    __tablename__ = "message_wait"
    __table_args__ = (Index("ix_message_wait_name", "message_name", "instance_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instance.id"), index=True)
    message_name: Mapped[str] = mapped_column(String(120))
    task_guid: Mapped[str] = mapped_column(String(36))


class BufferedMessage(Base):
    """A message that arrived while its instance was busy; delivered when it next waits."""

    __tablename__ = "buffered_message"

    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instance.id"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    payload: Mapped[dict] = mapped_column(JSON)
    sender: Mapped[str] = mapped_column(String(120))
    received_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    delivered_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class Event(Base):
    """Append-only history, hash-chained per instance (hash = sha256(prev_hash + record))."""

    __tablename__ = "event"
    __table_args__ = (UniqueConstraint("instance_id", "seq"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instance.id"))
    seq: Mapped[int] = mapped_column(Integer)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    actor: Mapped[str] = mapped_column(String(120))
    type: Mapped[str] = mapped_column(String(60))
    task_guid: Mapped[str | None] = mapped_column(String(36))
    bpmn_id: Mapped[str | None] = mapped_column(String(120))
    payload: Mapped[str] = mapped_column(Text)  # canonical JSON, exactly what was hashed
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class Incident(Base):
    """A command that failed inside the engine; the command is kept so it can be retried."""

    __tablename__ = "incident"

    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int | None] = mapped_column(ForeignKey("process_instance.id"), index=True)
    command: Mapped[dict] = mapped_column(JSON)
    task_bpmn_id: Mapped[str | None] = mapped_column(String(120))
    error: Mapped[str] = mapped_column(Text)
    traceback: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), default="open")  # INCIDENT_STATUSES
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    resolved_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    attempts: Mapped[int] = mapped_column(Integer, default=1)
    # Who closed it (an operator, or the actor of the command that superseded it) and why.
    resolved_by: Mapped[str | None] = mapped_column(String(120))
    note: Mapped[str | None] = mapped_column(Text)


class Outbox(Base):
    """Side effects (mail, notifications) written in the command's transaction."""

    __tablename__ = "outbox"
    # The worker's jobs look for unsettled rows of a kind (engine.followups, engine.notifications).
    __table_args__ = (Index("ix_outbox_pending", "kind", "sent_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int | None] = mapped_column(ForeignKey("process_instance.id"))
    kind: Mapped[str] = mapped_column(String(60))
    payload: Mapped[dict] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class OrgUnit(Base):
    __tablename__ = "org_unit"

    code: Mapped[str] = mapped_column(String(80), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    level: Mapped[str] = mapped_column(String(30))
    parent_code: Mapped[str | None] = mapped_column(String(80))


class UserAccount(Base):
    __tablename__ = "user_account"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(120), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str | None] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Stored in each web session at login and checked on every request; bumping it (logout,
    # password change, disable) ends every session of the user on every process.
    session_generation: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    # Where notifications are mailed to (engine.notifications.mail); None: the notification centre only.
    email: Mapped[str | None] = mapped_column(String(254))

    grants: Mapped[list["RoleGrant"]] = relationship(
        back_populates="user", lazy="selectin", cascade="all, delete-orphan"
    )


class RoleGrant(Base):
    """User U may act as role R for org scope S."""

    __tablename__ = "role_grant"
    __table_args__ = (UniqueConstraint("user_id", "role", "scope"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    role: Mapped[str] = mapped_column(String(60))
    scope: Mapped[str] = mapped_column(String(80))

    user: Mapped[UserAccount] = relationship(back_populates="grants")


LOGIN_RESULTS = ("success", "bad_password", "unknown_user", "disabled", "locked", "unlocked")
# The results that count towards a username's lockout (the same for a known and an unknown name).
LOGIN_FAILURES = ("bad_password", "unknown_user", "disabled")


class LoginAttempt(Base):
    """The login log: one row per login attempt (and per administrator's unlock), kept in the
    database so that the per-account lockout counts failures across every web process."""

    __tablename__ = "login_attempt"
    __table_args__ = (Index("ix_login_attempt_username_at", "username", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), index=True)
    username: Mapped[str] = mapped_column(String(120))  # as typed, whether or not the account exists
    address: Mapped[str] = mapped_column(String(64))
    result: Mapped[str] = mapped_column(String(20))  # LOGIN_RESULTS
    user_agent: Mapped[str] = mapped_column(String(200), default="")


class ApiToken(Base):
    """A bearer token for the REST API; only its SHA-256 is stored."""

    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    last_used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class CalendarYearRecord(Base):
    """One year of the State Council's holiday schedule (放假安排), as imported."""

    __tablename__ = "calendar_year"

    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    # {"holidays": {"2026-01-01": "元旦", ...}, "workdays": {"2026-01-04": "元旦调休上班", ...}}
    data: Mapped[dict] = mapped_column(JSON)
    source: Mapped[str] = mapped_column(String(300))
    sha256: Mapped[str] = mapped_column(String(64))
    imported_by: Mapped[str] = mapped_column(String(120))
    imported_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class WorkerLease(Base):
    """Who leads the scheduled jobs on SQLite (PostgreSQL uses an advisory lock instead)."""

    __tablename__ = "worker_lease"

    name: Mapped[str] = mapped_column(String(60), primary_key=True)
    holder: Mapped[str] = mapped_column(String(120))
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class ScheduledStart(Base):
    """The next occurrence of a scheduled process (an annual campaign); advanced by the leader."""

    __tablename__ = "scheduled_start"

    process_id: Mapped[str] = mapped_column(String(120), primary_key=True)
    next_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    last_started_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    last_instance_id: Mapped[int | None] = mapped_column(Integer)


class ProcessVersion(Base):
    """One version of one process, numbered per process key (1, 2, …) as owners see it.

    A definition version is the whole bundle instances pin; a process version is appended for
    each executable process whose content changed in it: its .bpmn file, a form file one of its
    tasks names, or the content of a process it calls (engine.versions). Never updated or deleted.
    """

    __tablename__ = "process_version"
    __table_args__ = (UniqueConstraint("process_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    process_id: Mapped[str] = mapped_column(String(120))
    number: Mapped[int] = mapped_column(Integer)
    definition_version_id: Mapped[int] = mapped_column(ForeignKey("definition_version.id"), index=True)
    content_sha256: Mapped[str] = mapped_column(String(64))
    deployed_by: Mapped[str] = mapped_column(String(120))
    deployed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    note: Mapped[str | None] = mapped_column(Text)


class Deployment(Base):
    """The append-only deployment log: every deploy that passed its checks, also identical ones
    (``created`` false). Nothing updates or deletes these rows."""

    __tablename__ = "deployment"

    id: Mapped[int] = mapped_column(primary_key=True)
    definition_version_id: Mapped[int] = mapped_column(ForeignKey("definition_version.id"), index=True)
    deployed_by: Mapped[str] = mapped_column(String(120))
    deployed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    note: Mapped[str | None] = mapped_column(Text)
    bundle_sha256: Mapped[str] = mapped_column(String(64))
    created: Mapped[bool] = mapped_column(Boolean)
    source: Mapped[str] = mapped_column(String(20))  # engine.versions.SOURCES


class ModelerDraft(Base):
    """A process owner's unsaved-to-production edit of one process: the .bpmn file's XML and the
    forms it changed, based on a process version. One per (process, owner); ``row_version`` makes
    a save from a stale tab a conflict instead of a silent overwrite (engine.drafts)."""

    __tablename__ = "modeler_draft"
    __table_args__ = (UniqueConstraint("process_id", "owner"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    process_id: Mapped[str] = mapped_column(String(120))
    owner: Mapped[str] = mapped_column(String(120))
    bpmn_path: Mapped[str] = mapped_column(String(255))
    xml: Mapped[str] = mapped_column(Text)
    forms: Mapped[dict] = mapped_column(JSON, default=dict)  # {form name: JSON Schema}
    base_version_id: Mapped[int | None] = mapped_column(ForeignKey("process_version.id"))
    row_version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


# The notification centre, mail and deadline tables (issue 15) live in their own module.
from engine.notifications import models as _notification_models  # noqa: E402,F401

# The history checkpoints and the access log (issue 14) live in their own module.
from engine.evidence import models as _evidence_models  # noqa: E402,F401

# The audit replay's calendars and runs (issue 13) live in their own module.
from engine.replay import models as _replay_models  # noqa: E402,F401

# Instance migration jobs and their per-instance results (issue 12) live in their own module.
from engine.migration import models as _migration_models  # noqa: E402,F401
