"""metric facts: per return its auto-approval and refund time, its lines, and orders counted per day

What GET /v1/metrics/returns counts, kept beside the documents (store/metrics.py): the returns'
auto_approved and refund_hours columns, a return_line_facts row per returned line, and
daily_order_counts (orders per day in all, per category, per SKU). All are backfilled from the
stored returns' documents and the orders' lines; orders get an index on placed_at.

Revision ID: 0011_metric_facts
Revises: 0010_console
Create Date: 2026-12-02 01:10:00.000000
"""

from collections import Counter
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = '0011_metric_facts'
down_revision = '0010_console'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('returns', schema=None) as batch_op:
        batch_op.add_column(sa.Column('auto_approved', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column('refund_hours', sa.Double(), nullable=True))
        batch_op.create_index('ix_returns_metrics', ['created_at', 'auto_approved', 'refund_hours', 'id'], unique=False)
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_orders_placed_at'), ['placed_at'], unique=False)
    op.create_table('return_line_facts',
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('return_id', sa.String(length=64), nullable=False),
    sa.Column('line_id', sa.String(length=128), nullable=False),
    sa.Column('sku', sa.String(length=128), nullable=False),
    sa.Column('category', sa.String(length=64), nullable=False),
    sa.Column('reason', sa.String(length=32), nullable=False),
    sa.Column('first_for_sku', sa.Boolean(), nullable=False),
    sa.Column('first_for_category', sa.Boolean(), nullable=False),
    sa.Column('auto_approved', sa.Boolean(), nullable=False),
    sa.Column('refund_hours', sa.Double(), nullable=True),
    sa.ForeignKeyConstraint(['return_id'], ['returns.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('created_at', 'return_id', 'line_id'),
    sqlite_with_rowid=False,
    )
    with op.batch_alter_table('return_line_facts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_return_line_facts_return_id'), ['return_id'], unique=False)
    op.create_table('daily_order_counts',
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('dimension', sa.String(length=8), nullable=False),
    sa.Column('value', sa.String(length=128), nullable=False),
    sa.Column('orders', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('day', 'dimension', 'value'),
    sqlite_with_rowid=False,
    )
    _backfill_returns()
    _backfill_order_counts()


BATCH = 1000

returns = sa.table(
    'returns', sa.column('id', sa.String()), sa.column('order_id', sa.String()),
    sa.column('created_at', sa.DateTime(timezone=True)), sa.column('document', sa.JSON()),
    sa.column('auto_approved', sa.Boolean()), sa.column('refund_hours', sa.Double()),
)
return_line_facts = sa.table(
    'return_line_facts', sa.column('return_id', sa.String()), sa.column('line_id', sa.String()),
    sa.column('created_at', sa.DateTime(timezone=True)), sa.column('sku', sa.String()),
    sa.column('category', sa.String()), sa.column('reason', sa.String()),
    sa.column('first_for_sku', sa.Boolean()), sa.column('first_for_category', sa.Boolean()),
    sa.column('auto_approved', sa.Boolean()), sa.column('refund_hours', sa.Double()),
)
orders = sa.table('orders', sa.column('order_id', sa.String()), sa.column('placed_at', sa.DateTime(timezone=True)))
order_lines = sa.table(
    'order_lines', sa.column('order_id', sa.String()), sa.column('line_id', sa.String()),
    sa.column('sku', sa.String()), sa.column('category', sa.String()),
)
daily_order_counts = sa.table(
    'daily_order_counts', sa.column('day', sa.Date()), sa.column('dimension', sa.String()),
    sa.column('value', sa.String()), sa.column('orders', sa.Integer()),
)


def _batches(table: sa.TableClause, key: str, *columns: str) -> Any:
    """The table's rows in batches, by ``key`` (keyset: nothing stays open while a batch is written)."""
    connection = op.get_bind()
    after = ''
    while batch := connection.execute(
        sa.select(*(table.c[name] for name in (key, *columns)))
        .where(table.c[key] > after).order_by(table.c[key]).limit(BATCH)
    ).all():
        after = batch[-1][0]
        yield batch


def _lines_of(order_ids: set[str]) -> dict[tuple[str, str], tuple[str, str]]:
    """(order id, line id) → (SKU, category) of the orders' lines."""
    found = op.get_bind().execute(
        sa.select(order_lines.c.order_id, order_lines.c.line_id, order_lines.c.sku, order_lines.c.category)
        .where(order_lines.c.order_id.in_(order_ids))
    )
    return {(order_id, line_id): (sku, category) for order_id, line_id, sku, category in found}


def _backfill_returns() -> None:
    """The same readings as domain.metrics (is_auto_approved, refund_hours, line_facts) on the stored JSON: a
    migration keeps its own copy, for the documents as they were stored."""
    connection = op.get_bind()
    for batch in _batches(returns, 'id', 'order_id', 'created_at', 'document'):
        ordered = _lines_of({order_id for _, order_id, _, _ in batch})
        facts, lines = [], []
        for return_id, order_id, created_at, document in batch:
            completed = next((t['at'] for t in document.get('timeline', []) if t['status'] == 'completed'), None)
            seconds = (
                (datetime.fromisoformat(completed) - datetime.fromisoformat(document['created_at'])).total_seconds()
                if completed else None
            )
            fact = {
                'auto_approved': document['decision']['outcome'] == 'auto_approved',
                'refund_hours': seconds / 3600 if seconds is not None else None,
            }
            facts.append({'return_key': return_id, **fact})
            skus, categories = set(), set()
            for line in document['lines']:
                sku, category = ordered.get((order_id, line['line_id']), (line.get('sku', ''), ''))
                lines.append({
                    'return_id': return_id, 'line_id': line['line_id'], 'created_at': created_at, 'sku': sku,
                    'category': category, 'reason': line['reason'], 'first_for_sku': sku not in skus,
                    'first_for_category': category not in categories, **fact,
                })
                skus.add(sku)
                categories.add(category)
        connection.execute(
            returns.update().where(returns.c.id == sa.bindparam('return_key'))
            .values(auto_approved=sa.bindparam('auto_approved'), refund_hours=sa.bindparam('refund_hours')),
            facts,
        )
        if lines:
            connection.execute(return_line_facts.insert(), lines)


def _backfill_order_counts() -> None:
    """The same counting as domain.metrics.order_counted_under: an order counts once on the day it was placed
    (UTC), in all, per category and per SKU of its lines."""
    counts: Counter[tuple[Any, str, str]] = Counter()
    for batch in _batches(orders, 'order_id', 'placed_at'):
        placed_on = {order_id: _utc(placed_at).date() for order_id, placed_at in batch}
        counted = {(order_id, 'all', '') for order_id in placed_on}
        for (order_id, _), (sku, category) in _lines_of(set(placed_on)).items():
            counted |= {(order_id, 'sku', sku), (order_id, 'category', category)}
        counts.update((placed_on[order_id], dimension, value) for order_id, dimension, value in counted)
    rows = [
        {'day': day, 'dimension': dimension, 'value': value, 'orders': count}
        for (day, dimension, value), count in sorted(counts.items())
    ]
    for start in range(0, len(rows), BATCH):
        op.get_bind().execute(daily_order_counts.insert(), rows[start:start + BATCH])


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def downgrade() -> None:
    op.drop_table('daily_order_counts')
    with op.batch_alter_table('return_line_facts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_return_line_facts_return_id'))
    op.drop_table('return_line_facts')
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_orders_placed_at'))
    with op.batch_alter_table('returns', schema=None) as batch_op:
        batch_op.drop_index('ix_returns_metrics')
        batch_op.drop_column('refund_hours')
        batch_op.drop_column('auto_approved')
