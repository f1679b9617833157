"""instance migration plans and jobs (issue 12)

``migration_job``: a migration an owner started (process, from version N to version M, the element
mapping, the selection, who and when, status, the worker holding it and its heartbeat, who cancelled
it). ``migration_item``: one instance of a job and its result (pending, migrated, refused, failed,
skipped, cancelled) with the reasons. See engine/migration/models.py and docs/migration.md.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03 13:00:00.000000
"""
from alembic import op
import sqlalchemy as sa

import engine.db


revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('migration_job',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('process_id', sa.String(length=120), nullable=False),
    sa.Column('from_number', sa.Integer(), nullable=False),
    sa.Column('to_number', sa.Integer(), nullable=False),
    sa.Column('to_version', sa.Integer(), nullable=False),
    sa.Column('mapping', sa.JSON(), nullable=False),
    sa.Column('selection', sa.JSON(), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('created_by', sa.String(length=120), nullable=False),
    sa.Column('created_at', engine.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('started_at', engine.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('finished_at', engine.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('runner', sa.String(length=120), nullable=True),
    sa.Column('heartbeat_at', engine.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('cancelled_by', sa.String(length=120), nullable=True),
    sa.Column('cancelled_at', engine.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['to_version'], ['definition_version.id'],
                            name=op.f('fk_migration_job_to_version_definition_version')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_migration_job'))
    )
    with op.batch_alter_table('migration_job', schema=None) as batch_op:
        batch_op.create_index('ix_migration_job_status', ['status', 'id'], unique=False)
        batch_op.create_index('ix_migration_job_process', ['process_id', 'id'], unique=False)

    op.create_table('migration_item',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('job_id', sa.Integer(), nullable=False),
    sa.Column('instance_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('from_version', sa.Integer(), nullable=True),
    sa.Column('reasons', sa.JSON(), nullable=False),
    sa.Column('message', sa.Text(), nullable=True),
    sa.Column('finished_at', engine.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['job_id'], ['migration_job.id'], name=op.f('fk_migration_item_job_id_migration_job')),
    sa.ForeignKeyConstraint(['instance_id'], ['process_instance.id'],
                            name=op.f('fk_migration_item_instance_id_process_instance')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_migration_item')),
    sa.UniqueConstraint('job_id', 'instance_id', name=op.f('uq_migration_item_job_id'))
    )
    with op.batch_alter_table('migration_item', schema=None) as batch_op:
        batch_op.create_index('ix_migration_item_job_status', ['job_id', 'status', 'id'], unique=False)
        batch_op.create_index(batch_op.f('ix_migration_item_instance_id'), ['instance_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('migration_item', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_migration_item_instance_id'))
        batch_op.drop_index('ix_migration_item_job_status')
    op.drop_table('migration_item')
    with op.batch_alter_table('migration_job', schema=None) as batch_op:
        batch_op.drop_index('ix_migration_job_process')
        batch_op.drop_index('ix_migration_job_status')
    op.drop_table('migration_job')
