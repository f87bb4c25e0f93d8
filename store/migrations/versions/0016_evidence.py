"""evidence: uploaded photos (the files are kept by EvidenceFiles, under the data folder by default)

Revision ID: 0016_evidence
Revises: 0015_webhook_secrets_encrypted
Create Date: 2026-12-02 04:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = '0016_evidence'
down_revision = '0015_webhook_secrets_encrypted'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('evidence',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('customer_id', sa.String(length=128), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('phash', sa.String(length=16), nullable=False),
    sa.Column('media_type', sa.String(length=32), nullable=False),
    sa.Column('width', sa.Integer(), nullable=False),
    sa.Column('height', sa.Integer(), nullable=False),
    sa.Column('taken_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('return_id', sa.String(length=64), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('evidence', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_evidence_customer_id'), ['customer_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_evidence_return_id'), ['return_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_evidence_sha256'), ['sha256'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('evidence', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_evidence_sha256'))
        batch_op.drop_index(batch_op.f('ix_evidence_return_id'))
        batch_op.drop_index(batch_op.f('ix_evidence_customer_id'))
    op.drop_table('evidence')
