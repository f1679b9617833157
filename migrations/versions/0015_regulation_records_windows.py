"""regulation records: application windows (第十四条), credit records (第二十七条), national list imports (第八条)

``application_windows``: the yearly application notices of each level, when applications are accepted.
``credit_imports`` / ``credit_records``: grounds of 第二十七条 items 2–6 imported from files or entered by
hand, each with its source document (and a ``negative_records`` row, written by the application).
``national_list_imports``: MIIT's published national lists as imported, with what they changed.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-03 14:00:00.000000
"""
from alembic import op
import sqlalchemy as sa

import engine.db


revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('application_windows',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('level', sa.String(length=16), nullable=False),
    sa.Column('scope', sa.String(length=16), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('opens_on', sa.Date(), nullable=False),
    sa.Column('closes_on', sa.Date(), nullable=False),
    sa.Column('unit_types', sa.JSON(), nullable=False),
    sa.Column('title', sa.String(length=300), nullable=False),
    sa.Column('notice_ref', sa.String(length=200), nullable=False),
    sa.Column('guide_version', sa.String(length=100), nullable=False),
    sa.Column('notice_url', sa.String(length=500), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('published_by', sa.String(length=120), nullable=False),
    sa.Column('published_at', engine.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('withdrawn_by', sa.String(length=120), nullable=True),
    sa.Column('withdrawn_at', engine.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('withdraw_reason', sa.Text(), nullable=True),
    sa.CheckConstraint("level IN ('city', 'province', 'national')", name=op.f('ck_application_windows_level')),
    sa.CheckConstraint("status IN ('published', 'withdrawn')", name=op.f('ck_application_windows_status')),
    sa.CheckConstraint('opens_on <= closes_on', name=op.f('ck_application_windows_dates')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_application_windows'))
    )
    with op.batch_alter_table('application_windows', schema=None) as batch_op:
        batch_op.create_index('ix_application_windows_lookup', ['level', 'scope', 'year', 'status'], unique=False)

    op.create_table('credit_imports',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('filename', sa.String(length=255), nullable=False),
    sa.Column('file_ref', sa.String(length=80), nullable=True),
    sa.Column('file_format', sa.String(length=8), nullable=False),
    sa.Column('rows_total', sa.Integer(), nullable=False),
    sa.Column('rows_new', sa.Integer(), nullable=False),
    sa.Column('rows_duplicate', sa.Integer(), nullable=False),
    sa.Column('imported_by', sa.String(length=120), nullable=False),
    sa.Column('imported_at', engine.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_credit_imports'))
    )
    op.create_table('national_list_imports',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('notice_ref', sa.String(length=200), nullable=False),
    sa.Column('published_on', sa.Date(), nullable=False),
    sa.Column('complete', sa.Boolean(), nullable=False),
    sa.Column('filename', sa.String(length=255), nullable=False),
    sa.Column('file_ref', sa.String(length=80), nullable=True),
    sa.Column('imported_by', sa.String(length=120), nullable=False),
    sa.Column('imported_at', engine.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('summary', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_national_list_imports'))
    )
    op.create_table('credit_records',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('credit_code', sa.String(length=18), nullable=False),
    sa.Column('unit_name', sa.String(length=200), nullable=False),
    sa.Column('item', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('occurred_on', sa.Date(), nullable=False),
    sa.Column('source', sa.String(length=200), nullable=False),
    sa.Column('document_ref', sa.String(length=200), nullable=False),
    sa.Column('document_file', sa.String(length=80), nullable=True),
    sa.Column('document_filename', sa.String(length=255), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('import_id', sa.Integer(), nullable=True),
    sa.Column('entered_by', sa.String(length=120), nullable=False),
    sa.Column('entered_role', sa.String(length=32), nullable=False),
    sa.Column('entered_scope', sa.String(length=16), nullable=False),
    sa.Column('entered_at', engine.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('negative_record_id', sa.Integer(), nullable=False),
    sa.Column('removal_instance_id', sa.Integer(), nullable=True),
    sa.Column('miit_report_ref', sa.String(length=200), nullable=True),
    sa.Column('miit_reported_on', sa.Date(), nullable=True),
    sa.Column('miit_report_note', sa.Text(), nullable=True),
    sa.CheckConstraint("kind IN ('deregistered', 'production_stopped', 'abnormal_operation', 'major_safety_accident', 'major_quality_accident', 'major_pollution_incident', 'major_cyber_data_incident', 'tax_evasion', 'serious_violation', 'inspection_finding', 'energy_rectification', 'dishonest_debtor')", name=op.f('ck_credit_records_kind')),
    sa.CheckConstraint('item BETWEEN 2 AND 6', name=op.f('ck_credit_records_item')),
    sa.ForeignKeyConstraint(['import_id'], ['credit_imports.id'], name=op.f('fk_credit_records_import_id_credit_imports')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_credit_records')),
    sa.UniqueConstraint('credit_code', 'kind', 'occurred_on', 'document_ref', name='uq_credit_records_record')
    )
    with op.batch_alter_table('credit_records', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_credit_records_credit_code'), ['credit_code'], unique=False)
        batch_op.create_index(batch_op.f('ix_credit_records_import_id'), ['import_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('credit_records', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_credit_records_import_id'))
        batch_op.drop_index(batch_op.f('ix_credit_records_credit_code'))
    op.drop_table('credit_records')
    op.drop_table('national_list_imports')
    op.drop_table('credit_imports')
    with op.batch_alter_table('application_windows', schema=None) as batch_op:
        batch_op.drop_index('ix_application_windows_lookup')
    op.drop_table('application_windows')
