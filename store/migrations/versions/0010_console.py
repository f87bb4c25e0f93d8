"""console: operator accounts, their sessions, and the returns' queue columns

The queue columns (priority, the attention's reason, since when in this status) are
backfilled from each stored return's document.

Revision ID: 0010_console
Revises: 0008_tender_claims
Create Date: 2026-12-02 01:00:00.000000
"""

from datetime import datetime

import sqlalchemy as sa
from alembic import op

revision = '0010_console'
down_revision = '0008_tender_claims'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('operators',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('password_hash', sa.String(length=200), nullable=False),
    sa.Column('language', sa.String(length=16), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('disabled_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('name')
    )
    op.create_table('console_sessions',
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('operator_id', sa.String(length=32), nullable=False),
    sa.Column('csrf_token', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_seen_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['operator_id'], ['operators.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('token_hash')
    )
    with op.batch_alter_table('console_sessions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_console_sessions_operator_id'), ['operator_id'], unique=False)

    with op.batch_alter_table('returns', schema=None) as batch_op:
        batch_op.add_column(sa.Column('priority', sa.String(length=8), server_default='normal', nullable=False))
        batch_op.add_column(sa.Column('attention_reason', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('status_since', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index('ix_returns_queue', ['status', 'priority', 'status_since', 'id'], unique=False)
    _backfill()


def _backfill() -> None:
    """The same reading as domain.queues.status_since, on the stored JSON (a migration keeps its own copy)."""
    returns = sa.table(
        'returns', sa.column('id'), sa.column('document', sa.JSON()), sa.column('priority'),
        sa.column('attention_reason'), sa.column('status_since', sa.DateTime(timezone=True)),
    )
    connection = op.get_bind()
    for return_id, document in connection.execute(sa.select(returns.c.id, returns.c.document)).all():
        attention = document.get('attention') or None
        status = document['status']
        if status == 'needs_attention' and attention:
            since = attention['since']
        else:
            entered = [entry['at'] for entry in document.get('timeline', []) if entry['status'] == status]
            since = max(entered, key=datetime.fromisoformat) if entered else document['updated_at']
        connection.execute(
            returns.update().where(returns.c.id == return_id).values(
                priority=document.get('priority', 'normal'),
                attention_reason=attention['reason'] if attention else None,
                status_since=datetime.fromisoformat(since),
            )
        )


def downgrade() -> None:
    with op.batch_alter_table('returns', schema=None) as batch_op:
        batch_op.drop_index('ix_returns_queue')
        batch_op.drop_column('status_since')
        batch_op.drop_column('attention_reason')
        batch_op.drop_column('priority')
    with op.batch_alter_table('console_sessions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_console_sessions_operator_id'))
    op.drop_table('console_sessions')
    op.drop_table('operators')
