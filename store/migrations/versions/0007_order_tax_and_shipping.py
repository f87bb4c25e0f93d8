"""order tax and shipping: each line's total tax, the order's shipping and its tax

Revision ID: 0006_order_tax
Revises: 0006
Create Date: 2026-11-23 10:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = '0006_order_tax'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('order_lines', schema=None) as batch_op:
        batch_op.add_column(sa.Column('tax_minor', sa.BigInteger(), server_default='0', nullable=False))
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.add_column(sa.Column('shipping_minor', sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column('shipping_tax_minor', sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.drop_column('shipping_tax_minor')
        batch_op.drop_column('shipping_minor')
    with op.batch_alter_table('order_lines', schema=None) as batch_op:
        batch_op.drop_column('tax_minor')
