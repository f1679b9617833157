"""what step-through replay stores (issue 13)

``replay_calendar``: the working-day calendars commands read, by the fingerprint their step records.
``replay_run``: every replay run (who, when, on what, N replayed, M diverged, the divergences).
``event``: an index by type for the auditors' "instances where X happened".

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-03 13:00:00.000000
"""
from alembic import op
import sqlalchemy as sa

import engine.db


revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('replay_calendar',
    sa.Column('fingerprint', sa.String(length=16), nullable=False),
    sa.Column('years', sa.JSON(), nullable=False),
    sa.Column('first_seen_at', engine.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('fingerprint', name=op.f('pk_replay_calendar'))
    )
    op.create_table('replay_run',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('started_at', engine.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('started_by', sa.String(length=120), nullable=False),
    sa.Column('scope', sa.String(length=120), nullable=False),
    sa.Column('replayed', sa.Integer(), nullable=False),
    sa.Column('diverged', sa.Integer(), nullable=False),
    sa.Column('seconds', sa.Float(), nullable=False),
    sa.Column('report', sa.JSON(), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_replay_run'))
    )
    with op.batch_alter_table('replay_run', schema=None) as batch_op:
        batch_op.create_index('ix_replay_run_started', ['started_at'], unique=False)
    with op.batch_alter_table('event', schema=None) as batch_op:
        batch_op.create_index('ix_event_type_instance', ['type', 'instance_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('event', schema=None) as batch_op:
        batch_op.drop_index('ix_event_type_instance')
    with op.batch_alter_table('replay_run', schema=None) as batch_op:
        batch_op.drop_index('ix_replay_run_started')
    op.drop_table('replay_run')
    op.drop_table('replay_calendar')
