"""tender claims: each order's tenders with what returns claimed to refund, and the claims by refund key

Backfilled from what is already there: the tenders from orders.payments, the claims from the
ledger's refund rows (what each tender has refunded, at most what it paid).

Revision ID: 0008_tender_claims
Revises: 0007_credit_note_items
Create Date: 2026-11-23 11:00:00.000000
"""

from decimal import Decimal

import sqlalchemy as sa
from alembic import op

from domain.money import to_minor_units

revision = '0008_tender_claims'
down_revision = '0007_credit_note_items'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('order_payments',
    sa.Column('order_id', sa.String(length=128), nullable=False),
    sa.Column('payment_id', sa.String(length=128), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('method', sa.String(length=16), nullable=False),
    sa.Column('amount_minor', sa.BigInteger(), nullable=False),
    sa.Column('refunded_minor', sa.BigInteger(), nullable=False),
    sa.CheckConstraint('refunded_minor >= 0 AND refunded_minor <= amount_minor', name='refunded_within_amount'),
    sa.ForeignKeyConstraint(['order_id'], ['orders.order_id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('order_id', 'payment_id')
    )
    op.create_table('tender_claims',
    sa.Column('idempotency_key', sa.String(length=255), nullable=False),
    sa.Column('return_id', sa.String(length=64), nullable=False),
    sa.Column('order_id', sa.String(length=128), nullable=False),
    sa.Column('payment_id', sa.String(length=128), nullable=False),
    sa.Column('amount_minor', sa.BigInteger(), nullable=False),
    sa.Column('released_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('idempotency_key')
    )
    with op.batch_alter_table('tender_claims', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_tender_claims_order_id'), ['order_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_tender_claims_return_id'), ['return_id'], unique=False)
    _backfill()


def _backfill() -> None:
    bind = op.get_bind()
    orders = sa.table('orders', sa.column('order_id'), sa.column('currency'), sa.column('payments', sa.JSON()))
    ledger = sa.table(
        'ledger_entries',
        sa.column('idempotency_key'),
        sa.column('return_id'),
        sa.column('order_id'),
        sa.column('kind'),
        sa.column('payment_id'),
        sa.column('amount_minor'),
        sa.column('created_at'),
    )
    payments = sa.table(
        'order_payments',
        sa.column('order_id'),
        sa.column('payment_id'),
        sa.column('position'),
        sa.column('method'),
        sa.column('amount_minor'),
        sa.column('refunded_minor'),
    )
    claims = sa.table(
        'tender_claims',
        sa.column('idempotency_key'),
        sa.column('return_id'),
        sa.column('order_id'),
        sa.column('payment_id'),
        sa.column('amount_minor'),
        sa.column('created_at'),
    )
    refunds = bind.execute(
        sa.select(
            ledger.c.idempotency_key,
            ledger.c.return_id,
            ledger.c.order_id,
            ledger.c.payment_id,
            ledger.c.amount_minor,
            ledger.c.created_at,
        ).where(ledger.c.kind == 'refund', ledger.c.payment_id.is_not(None))
    ).all()
    refunded: dict[tuple[str, str], int] = {}
    for refund in refunds:
        key = (refund.order_id, refund.payment_id)
        refunded[key] = refunded.get(key, 0) + refund.amount_minor
    tenders = []
    for order_id, currency, paid in bind.execute(sa.select(orders.c.order_id, orders.c.currency, orders.c.payments)):
        for position, payment in enumerate(paid or []):
            amount = to_minor_units(Decimal(payment['amount']), currency)
            tenders.append(
                {
                    'order_id': order_id,
                    'payment_id': payment['payment_id'],
                    'position': position,
                    'method': payment['method'],
                    'amount_minor': amount,
                    'refunded_minor': min(max(refunded.get((order_id, payment['payment_id']), 0), 0), amount),
                }
            )
    if tenders:
        bind.execute(payments.insert(), tenders)
    if refunds:
        bind.execute(
            claims.insert(),
            [
                {
                    'idempotency_key': refund.idempotency_key,
                    'return_id': refund.return_id,
                    'order_id': refund.order_id,
                    'payment_id': refund.payment_id,
                    'amount_minor': refund.amount_minor,
                    'created_at': refund.created_at,
                }
                for refund in refunds
            ],
        )


def downgrade() -> None:
    with op.batch_alter_table('tender_claims', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_tender_claims_return_id'))
        batch_op.drop_index(batch_op.f('ix_tender_claims_order_id'))

    op.drop_table('tender_claims')
    op.drop_table('order_payments')
