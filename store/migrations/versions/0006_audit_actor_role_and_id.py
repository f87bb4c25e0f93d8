"""audit actor role and id

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 21:30:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

ROLES = ('service', 'operator', 'customer', 'system')


def upgrade() -> None:
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.add_column(sa.Column('actor_role', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('actor_id', sa.String(length=140), nullable=True))

    # The entries written so far name their actor "role:id" (or "cli"): split it.
    audit_log = sa.table(
        'audit_log', sa.column('id', sa.Integer), sa.column('actor', sa.String),
        sa.column('actor_role', sa.String), sa.column('actor_id', sa.String),
    )
    connection = op.get_bind()
    for entry_id, actor in connection.execute(sa.select(audit_log.c.id, audit_log.c.actor)).all():
        role, colon, actor_id = actor.partition(':')
        if not (colon and role in ROLES):
            role, actor_id = 'system', actor
        connection.execute(
            audit_log.update().where(audit_log.c.id == entry_id).values(actor_role=role, actor_id=actor_id)
        )

    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.alter_column('actor_role', existing_type=sa.String(length=16), nullable=False)
        batch_op.alter_column('actor_id', existing_type=sa.String(length=140), nullable=False)
        batch_op.alter_column(
            'actor', existing_type=sa.String(length=64), type_=sa.String(length=160), existing_nullable=False
        )


def downgrade() -> None:
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.alter_column(
            'actor', existing_type=sa.String(length=160), type_=sa.String(length=64), existing_nullable=False
        )
        batch_op.drop_column('actor_id')
        batch_op.drop_column('actor_role')
