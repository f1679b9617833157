"""incident resolution: who closed an incident and the note they gave

Operators resolve or dismiss an incident with a note (``greenflow incidents resolve|dismiss``,
``/admin/incidents``, ``POST /api/v1/incidents/<id>/resolve|dismiss``); a later successful
command resolves it with a note of its own.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30 10:00:00.000000
"""
from alembic import op
import sqlalchemy as sa

import engine.db  # noqa: F401


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('incident', schema=None) as batch_op:
        batch_op.add_column(sa.Column('resolved_by', sa.String(length=120), nullable=True))
        batch_op.add_column(sa.Column('note', sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('incident', schema=None) as batch_op:
        batch_op.drop_column('note')
        batch_op.drop_column('resolved_by')
