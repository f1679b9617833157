"""park member enterprises (issue 16 item 3, 第二十三、二十七条)

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-03 17:10:00.000000
"""
from alembic import op
import sqlalchemy as sa

import engine.db


revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('park_members',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('park_credit_code', sa.String(length=18), nullable=False),
    sa.Column('member_credit_code', sa.String(length=18), nullable=False),
    sa.Column('member_name', sa.String(length=200), nullable=False),
    sa.Column('joined_on', sa.Date(), nullable=False),
    sa.Column('left_on', sa.Date(), nullable=True),
    sa.Column('leave_proposed_on', sa.Date(), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('proposed_by', sa.String(length=120), nullable=False),
    sa.Column('proposed_at', engine.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('decided_by', sa.String(length=120), nullable=True),
    sa.Column('decided_at', engine.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.CheckConstraint("status IN ('proposed', 'confirmed', 'rejected')", name=op.f('ck_park_members_status')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_park_members'))
    )
    op.create_table('park_member_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=False),
    sa.Column('action', sa.String(length=24), nullable=False),
    sa.Column('actor', sa.String(length=120), nullable=False),
    sa.Column('at', engine.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['member_id'], ['park_members.id'], name=op.f('fk_park_member_events_member_id_park_members')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_park_member_events'))
    )
    op.create_index(op.f('ix_park_members_member_credit_code'), 'park_members', ['member_credit_code'], unique=False)
    op.create_index('ix_park_members_park_status', 'park_members', ['park_credit_code', 'status'], unique=False)
    op.create_index(op.f('ix_park_member_events_member_id'), 'park_member_events', ['member_id'], unique=False)


def downgrade() -> None:
    op.drop_table('park_member_events')
    op.drop_table('park_members')
