"""eligibility evidence of applications (issue 16 item 1, 第十、十一、十二条)

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-03 17:10:00.000000
"""
from alembic import op
import sqlalchemy as sa

import engine.db


revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
