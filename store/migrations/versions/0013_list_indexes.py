"""list indexes: each filter of GET /v1/returns with its rows in the list's order

ix_returns_status_created, ix_returns_customer_created and ix_returns_order_created give a
filtered page newest first by reading just its rows (bench/reads.py, a million returns); they
replace the single-column indexes on status, customer_id and order_id, which they also serve.

Revision ID: 0013_list_indexes
Revises: 0012_surveys
Create Date: 2026-12-02 04:30:00.000000
"""

from alembic import op

revision = '0013_list_indexes'
down_revision = '0012_surveys'
branch_labels = None
depends_on = None

REPLACED = {
    'ix_returns_status_created': ('ix_returns_status', 'status'),
    'ix_returns_customer_created': ('ix_returns_customer_id', 'customer_id'),
    'ix_returns_order_created': ('ix_returns_order_id', 'order_id'),
}


def upgrade() -> None:
    with op.batch_alter_table('returns', schema=None) as batch_op:
        for name, (old_name, column) in REPLACED.items():
            batch_op.create_index(name, [column, 'created_at', 'id'], unique=False)
            batch_op.drop_index(old_name)


def downgrade() -> None:
    with op.batch_alter_table('returns', schema=None) as batch_op:
        for name, (old_name, column) in REPLACED.items():
            batch_op.create_index(old_name, [column], unique=False)
            batch_op.drop_index(name)
