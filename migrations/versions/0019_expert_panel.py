"""expert pool and review panels (issue 16 item 4, 第十八条)

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-03 17:10:00.000000
"""
from alembic import op
import sqlalchemy as sa

import engine.db


revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'expert_profiles',
        sa.Column('username', sa.String(length=120), nullable=False),
        sa.Column('fields', sa.JSON(), nullable=False),
        sa.Column('home_division', sa.String(length=16), nullable=False),
        sa.Column('evaluator_id', sa.String(length=32), nullable=True),
        sa.Column('active', sa.Boolean(), nullable=False),
        sa.Column('updated_at', engine.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('updated_by', sa.String(length=120), nullable=False),
        sa.ForeignKeyConstraint(['evaluator_id'], ['evaluators.id'], name=op.f('fk_expert_profiles_evaluator_id_evaluators')),
        sa.PrimaryKeyConstraint('username', name=op.f('pk_expert_profiles')),
    )
    op.create_table(
        'expert_panel_draws',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('instance_id', sa.Integer(), nullable=False),
        sa.Column('round', sa.Integer(), nullable=False),
        sa.Column('seed', sa.String(length=80), nullable=False),
        sa.Column('wanted', sa.Integer(), nullable=False),
        sa.Column('candidates', sa.JSON(), nullable=False),
        sa.Column('drawn', sa.JSON(), nullable=False),
        sa.Column('avoided', sa.JSON(), nullable=False),
        sa.Column('short', sa.Boolean(), nullable=False),
        sa.Column('message', sa.Text(), nullable=True),
        sa.Column('drawn_at', engine.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_expert_panel_draws')),
    )
    op.create_index('ix_expert_panel_draws_instance', 'expert_panel_draws', ['instance_id', 'round'], unique=False)
    op.create_table(
        'expert_panel_seats',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('instance_id', sa.Integer(), nullable=False),
        sa.Column('round', sa.Integer(), nullable=False),
        sa.Column('username', sa.String(length=120), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('score', sa.Integer(), nullable=True),
        sa.Column('opinion', sa.Text(), nullable=True),
        sa.Column('site_check_needed', sa.Boolean(), nullable=True),
        sa.Column('conflict_reason', sa.Text(), nullable=True),
        sa.Column('drawn_at', engine.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('settled_at', engine.db.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_expert_panel_seats')),
    )
    op.create_index('ix_expert_panel_seats_instance', 'expert_panel_seats', ['instance_id', 'username'], unique=False)
    op.create_index('ix_expert_panel_seats_user', 'expert_panel_seats', ['username', 'status'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_expert_panel_seats_user', table_name='expert_panel_seats')
    op.drop_index('ix_expert_panel_seats_instance', table_name='expert_panel_seats')
    op.drop_table('expert_panel_seats')
    op.drop_index('ix_expert_panel_draws_instance', table_name='expert_panel_draws')
    op.drop_table('expert_panel_draws')
    op.drop_table('expert_profiles')
