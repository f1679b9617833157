"""the notification centre and mail delivery (issue 15)

``notification``: one row per recipient user of an outbox notification (the bell and the centre).
``mail_message``: one e-mail to one address, sent by the worker with retries and back-off.
``task_deadline``: reminder and escalation times of user tasks with a ``deadline`` (config/deadlines.toml).
``user_account.email``: where a user's notifications are mailed. ``outbox``: an index for the
worker's look-up of unsettled rows of a kind.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-03 13:00:00.000000
"""
from alembic import op
import sqlalchemy as sa

import engine.db


revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.add_column(sa.Column('email', sa.String(length=254), nullable=True))
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.create_index('ix_outbox_pending', ['kind', 'sent_at'], unique=False)

    op.create_table('notification',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('username', sa.String(length=120), nullable=False),
    sa.Column('outbox_id', sa.Integer(), nullable=True),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('message_zh', sa.Text(), nullable=False),
    sa.Column('message_en', sa.Text(), nullable=False),
    sa.Column('instance_id', sa.Integer(), nullable=True),
    sa.Column('task_id', sa.Integer(), nullable=True),
    sa.Column('created_at', engine.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('read_at', engine.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['outbox_id'], ['outbox.id'], name=op.f('fk_notification_outbox_id_outbox')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notification')),
    sa.UniqueConstraint('outbox_id', 'username', name=op.f('uq_notification_outbox_id'))
    )
    with op.batch_alter_table('notification', schema=None) as batch_op:
        batch_op.create_index('ix_notification_user', ['username', 'read_at', 'id'], unique=False)

    op.create_table('mail_message',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('outbox_id', sa.Integer(), nullable=True),
    sa.Column('username', sa.String(length=120), nullable=True),
    sa.Column('to_address', sa.String(length=254), nullable=False),
    sa.Column('subject', sa.String(length=300), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', engine.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('created_at', engine.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('sent_at', engine.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['outbox_id'], ['outbox.id'], name=op.f('fk_mail_message_outbox_id_outbox')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_mail_message')),
    sa.UniqueConstraint('outbox_id', 'to_address', name=op.f('uq_mail_message_outbox_id'))
    )
    with op.batch_alter_table('mail_message', schema=None) as batch_op:
        batch_op.create_index('ix_mail_message_due', ['status', 'next_attempt_at'], unique=False)

    op.create_table('task_deadline',
    sa.Column('task_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('instance_id', sa.Integer(), nullable=False),
    sa.Column('deadline', sa.String(length=60), nullable=False),
    sa.Column('remind_at', engine.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('due_at', engine.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('escalate_to', sa.String(length=20), nullable=True),
    sa.Column('reminded_at', engine.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('escalated_at', engine.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['instance_id'], ['process_instance.id'],
                            name=op.f('fk_task_deadline_instance_id_process_instance')),
    sa.ForeignKeyConstraint(['task_id'], ['human_task.id'], name=op.f('fk_task_deadline_task_id_human_task')),
    sa.PrimaryKeyConstraint('task_id', name=op.f('pk_task_deadline'))
    )
    with op.batch_alter_table('task_deadline', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_task_deadline_instance_id'), ['instance_id'], unique=False)
        batch_op.create_index('ix_task_deadline_remind', ['reminded_at', 'remind_at'], unique=False)
        batch_op.create_index('ix_task_deadline_due', ['escalated_at', 'due_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('task_deadline', schema=None) as batch_op:
        batch_op.drop_index('ix_task_deadline_due')
        batch_op.drop_index('ix_task_deadline_remind')
        batch_op.drop_index(batch_op.f('ix_task_deadline_instance_id'))
    op.drop_table('task_deadline')
    with op.batch_alter_table('mail_message', schema=None) as batch_op:
        batch_op.drop_index('ix_mail_message_due')
    op.drop_table('mail_message')
    with op.batch_alter_table('notification', schema=None) as batch_op:
        batch_op.drop_index('ix_notification_user')
    op.drop_table('notification')
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_pending')
    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.drop_column('email')
