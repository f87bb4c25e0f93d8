"""surveys: an ended return's satisfaction answer, the order's language, customer notifications told once

survey_answers holds one answer per return (its primary key). orders.language is the language
the customer reads (NULL: English). customer_notifications.once_key says what a notification
tells (a status of a return, a compensation), unique so it is told once; NULL on older rows.

Revision ID: 0012_surveys
Revises: 0011_metric_facts
Create Date: 2026-12-02 02:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = '0012_surveys'
down_revision = '0011_metric_facts'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('survey_answers',
    sa.Column('return_id', sa.String(length=64), nullable=False),
    sa.Column('customer_id', sa.String(length=128), nullable=False),
    sa.Column('score', sa.Integer(), nullable=False),
    sa.Column('comment', sa.Text(), nullable=False),
    sa.Column('answered_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('score >= 1 AND score <= 5', name='score_from_1_to_5'),
    sa.PrimaryKeyConstraint('return_id')
    )
    with op.batch_alter_table('survey_answers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_survey_answers_answered_at'), ['answered_at'], unique=False)
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.add_column(sa.Column('language', sa.String(length=16), nullable=True))
    with op.batch_alter_table('customer_notifications', schema=None) as batch_op:
        batch_op.add_column(sa.Column('once_key', sa.String(length=255), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_customer_notifications_once_key'), ['once_key'])


def downgrade() -> None:
    with op.batch_alter_table('customer_notifications', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_customer_notifications_once_key'), type_='unique')
        batch_op.drop_column('once_key')
    # Not through batch mode: on SQLite that copies and drops the orders table, and dropping it cascades to
    # order_lines (foreign keys are on). Both databases drop a plain column in place.
    op.execute('ALTER TABLE orders DROP COLUMN language')
    with op.batch_alter_table('survey_answers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_survey_answers_answered_at'))
    op.drop_table('survey_answers')
