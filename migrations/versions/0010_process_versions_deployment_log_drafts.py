"""process versions, the deployment log and modeler drafts

``process_version``: versions numbered per process key (1, 2, …), one row for each executable
process whose content changed in a deployed bundle. ``deployment``: the append-only log of every
deploy (who, when, note, bundle hash, created or identical, source). ``modeler_draft``: a process
owner's draft of one process (XML + changed forms), one per (process, owner).

``definition_version.sha256`` stops being unique: deploying the content of an older version again
(a revert) stores a new version; only content identical to the newest version is a no-op.

No data is computed here: the process versions of bundles deployed before this revision are
derived from code by ``engine.versions.backfill`` (run by ``greenflow init`` and by every deploy).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 10:00:00.000000
"""
from alembic import op
import sqlalchemy as sa

import engine.db


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('definition_version', schema=None) as batch_op:
        batch_op.drop_constraint('uq_definition_version_sha256', type_='unique')
        batch_op.create_index(batch_op.f('ix_definition_version_sha256'), ['sha256'], unique=False)

    op.create_table('process_version',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('process_id', sa.String(length=120), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('definition_version_id', sa.Integer(), nullable=False),
    sa.Column('content_sha256', sa.String(length=64), nullable=False),
    sa.Column('deployed_by', sa.String(length=120), nullable=False),
    sa.Column('deployed_at', engine.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['definition_version_id'], ['definition_version.id'],
                            name=op.f('fk_process_version_definition_version_id_definition_version')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_process_version')),
    sa.UniqueConstraint('process_id', 'number', name=op.f('uq_process_version_process_id'))
    )
    with op.batch_alter_table('process_version', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_process_version_definition_version_id'), ['definition_version_id'],
                              unique=False)

    op.create_table('deployment',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('definition_version_id', sa.Integer(), nullable=False),
    sa.Column('deployed_by', sa.String(length=120), nullable=False),
    sa.Column('deployed_at', engine.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('bundle_sha256', sa.String(length=64), nullable=False),
    sa.Column('created', sa.Boolean(), nullable=False),
    sa.Column('source', sa.String(length=20), nullable=False),
    sa.ForeignKeyConstraint(['definition_version_id'], ['definition_version.id'],
                            name=op.f('fk_deployment_definition_version_id_definition_version')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_deployment'))
    )
    with op.batch_alter_table('deployment', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_deployment_definition_version_id'), ['definition_version_id'],
                              unique=False)

    op.create_table('modeler_draft',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('process_id', sa.String(length=120), nullable=False),
    sa.Column('owner', sa.String(length=120), nullable=False),
    sa.Column('bpmn_path', sa.String(length=255), nullable=False),
    sa.Column('xml', sa.Text(), nullable=False),
    sa.Column('forms', sa.JSON(), nullable=False),
    sa.Column('base_version_id', sa.Integer(), nullable=True),
    sa.Column('row_version', sa.Integer(), nullable=False),
    sa.Column('created_at', engine.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', engine.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['base_version_id'], ['process_version.id'],
                            name=op.f('fk_modeler_draft_base_version_id_process_version')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_modeler_draft')),
    sa.UniqueConstraint('process_id', 'owner', name=op.f('uq_modeler_draft_process_id'))
    )


def downgrade() -> None:
    op.drop_table('modeler_draft')
    with op.batch_alter_table('deployment', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_deployment_definition_version_id'))
    op.drop_table('deployment')
    with op.batch_alter_table('process_version', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_process_version_definition_version_id'))
    op.drop_table('process_version')
    with op.batch_alter_table('definition_version', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_definition_version_sha256'))
        batch_op.create_unique_constraint('uq_definition_version_sha256', ['sha256'])
