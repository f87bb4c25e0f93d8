"""credit note items: what each payout row of the ledger paid for (goods, tax, shipping, shipping tax)

Revision ID: 0007_credit_note_items
Revises: 0006_order_tax
Create Date: 2026-11-23 10:30:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = '0007_credit_note_items'
down_revision = '0006_order_tax'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('ledger_entries', schema=None) as batch_op:
        batch_op.add_column(sa.Column('items', sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('ledger_entries', schema=None) as batch_op:
        batch_op.drop_column('items')
