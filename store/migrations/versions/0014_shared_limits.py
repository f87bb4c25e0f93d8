"""shared limits: rate buckets in the database, renewed Idempotency-Key leases

rate_buckets holds one token bucket per (limit, caller), so every API process counts
against the same one. idempotency_keys.leased_until is how long the request holding a key
in flight is presumed alive (it renews it); NULL on rows claimed before this revision.

Revision ID: 0014_shared_limits
Revises: 0013_list_indexes
Create Date: 2026-12-02 04:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = '0014_shared_limits'
down_revision = '0013_list_indexes'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('rate_buckets',
    sa.Column('limit_name', sa.String(length=32), nullable=False),
    sa.Column('caller', sa.String(length=255), nullable=False),
    sa.Column('full_at', sa.Double(), nullable=False),
    sa.PrimaryKeyConstraint('limit_name', 'caller')
    )
    with op.batch_alter_table('idempotency_keys') as batch_op:
        batch_op.add_column(sa.Column('leased_until', sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('idempotency_keys') as batch_op:
        batch_op.drop_column('leased_until')
    op.drop_table('rate_buckets')
