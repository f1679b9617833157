"""spot checks of listed units (issue 16 item 7, 第二十六条)

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-03 17:10:00.000000
"""
from alembic import op
import sqlalchemy as sa

import engine.db


revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('spot_checks',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('instance_id', sa.Integer(), nullable=False),
    sa.Column('organiser_role', sa.String(length=32), nullable=False),
    sa.Column('organiser_scope', sa.String(length=16), nullable=False),
    sa.Column('list_level', sa.String(length=16), nullable=False),
    sa.Column('list_scope', sa.String(length=16), nullable=True),
    sa.Column('unit_type', sa.String(length=16), nullable=False),
    sa.Column('sample_size', sa.Integer(), nullable=True),
    sa.Column('sample_rate', sa.Integer(), nullable=True),
    sa.Column('seed', sa.String(length=64), nullable=False),
    sa.Column('population_size', sa.Integer(), nullable=False),
    sa.Column('population', sa.JSON(), nullable=False),
    sa.Column('sample', sa.JSON(), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('started_by', sa.String(length=120), nullable=False),
    sa.Column('started_at', engine.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('closed_at', engine.db.UTCDateTime(timezone=True), nullable=True),
    sa.CheckConstraint("list_level IN ('city', 'province', 'national')", name=op.f('ck_spot_checks_list_level')),
    sa.CheckConstraint("status IN ('open', 'closed')", name=op.f('ck_spot_checks_status')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_spot_checks')),
    sa.UniqueConstraint('instance_id', name=op.f('uq_spot_checks_instance_id'))
    )
    op.create_table('spot_check_units',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('spot_check_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('credit_code', sa.String(length=18), nullable=False),
    sa.Column('unit_name', sa.String(length=200), nullable=False),
    sa.Column('unit_type', sa.String(length=16), nullable=False),
    sa.Column('listings', sa.JSON(), nullable=False),
    sa.Column('checker_role', sa.String(length=32), nullable=False),
    sa.Column('checker_scope', sa.String(length=16), nullable=False),
    sa.Column('finding', sa.String(length=16), nullable=True),
    sa.Column('checked_on', sa.Date(), nullable=True),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('evidence', sa.Text(), nullable=True),
    sa.Column('evidence_file', sa.String(length=80), nullable=True),
    sa.Column('recorded_by', sa.String(length=120), nullable=True),
    sa.Column('recorded_at', engine.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('pending_removals', sa.JSON(), nullable=True),
    sa.CheckConstraint("finding IS NULL OR finding IN ('meets', 'no_longer_meets')", name=op.f('ck_spot_check_units_finding')),
    sa.ForeignKeyConstraint(['spot_check_id'], ['spot_checks.id'], name=op.f('fk_spot_check_units_spot_check_id_spot_checks')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_spot_check_units')),
    sa.UniqueConstraint('spot_check_id', 'credit_code', name='uq_spot_check_units_check_unit')
    )
    op.create_index(op.f('ix_spot_check_units_credit_code'), 'spot_check_units', ['credit_code'], unique=False)
    op.create_index(op.f('ix_spot_check_units_spot_check_id'), 'spot_check_units', ['spot_check_id'], unique=False)


def downgrade() -> None:
    op.drop_table('spot_check_units')
    op.drop_table('spot_checks')
