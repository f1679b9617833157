"""history checkpoints and the access log (issue 14)

``history_checkpoint``: the chained checkpoints over every instance's chain head (a Merkle root)
and the heads of the deployment, login and access logs. ``history_checkpoint_leaf``: the chain
heads a checkpoint commits to, stored when they changed since the previous one.
``access_log``: sensitive reads and exports, hash-chained (docs/audit-evidence.md).

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03 13:00:00.000000
"""
from alembic import op
import sqlalchemy as sa

import engine.db


revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('history_checkpoint',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('created_at', engine.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.String(length=120), nullable=False),
    sa.Column('instances', sa.Integer(), nullable=False),
    sa.Column('events', sa.Integer(), nullable=False),
    sa.Column('merkle_root', sa.String(length=64), nullable=False),
    sa.Column('logs', sa.Text(), nullable=False),
    sa.Column('broken', sa.Text(), nullable=False),
    sa.Column('prev_hash', sa.String(length=64), nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_history_checkpoint')),
    sa.UniqueConstraint('hash', name=op.f('uq_history_checkpoint_hash'))
    )
    with op.batch_alter_table('history_checkpoint', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_history_checkpoint_created_at'), ['created_at'], unique=False)

    op.create_table('history_checkpoint_leaf',
    sa.Column('checkpoint_id', sa.Integer(), nullable=False),
    sa.Column('instance_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('event_count', sa.Integer(), nullable=False),
    sa.Column('head_hash', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['checkpoint_id'], ['history_checkpoint.id'],
                            name=op.f('fk_history_checkpoint_leaf_checkpoint_id_history_checkpoint')),
    sa.PrimaryKeyConstraint('checkpoint_id', 'instance_id', name=op.f('pk_history_checkpoint_leaf'))
    )
    with op.batch_alter_table('history_checkpoint_leaf', schema=None) as batch_op:
        batch_op.create_index('ix_history_checkpoint_leaf_instance', ['instance_id', 'checkpoint_id'], unique=False)

    op.create_table('access_log',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('at', engine.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('username', sa.String(length=120), nullable=False),
    sa.Column('roles', sa.String(length=300), nullable=False),
    sa.Column('action', sa.String(length=60), nullable=False),
    sa.Column('object_ref', sa.String(length=200), nullable=False),
    sa.Column('result', sa.String(length=20), nullable=False),
    sa.Column('address', sa.String(length=64), nullable=False),
    sa.Column('detail', sa.Text(), nullable=False),
    sa.Column('prev_hash', sa.String(length=64), nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_access_log')),
    sa.UniqueConstraint('seq', name=op.f('uq_access_log_seq'))
    )
    with op.batch_alter_table('access_log', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_access_log_at'), ['at'], unique=False)
        batch_op.create_index('ix_access_log_username_at', ['username', 'at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('access_log', schema=None) as batch_op:
        batch_op.drop_index('ix_access_log_username_at')
        batch_op.drop_index(batch_op.f('ix_access_log_at'))
    op.drop_table('access_log')
    with op.batch_alter_table('history_checkpoint_leaf', schema=None) as batch_op:
        batch_op.drop_index('ix_history_checkpoint_leaf_instance')
    op.drop_table('history_checkpoint_leaf')
    with op.batch_alter_table('history_checkpoint', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_history_checkpoint_created_at'))
    op.drop_table('history_checkpoint')
