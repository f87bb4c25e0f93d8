"""webhook secrets encrypted: endpoints keep their signing secret sealed with the codec keys

webhook_endpoints.secret (clear) becomes encrypted_secret: the secret sealed with the first of
RETURNFLOW_CODEC_KEYS, bound to the endpoint's id (returnflow/codec.py, seal). Existing rows are
sealed here; the downgrade opens them again. Either needs the codec keys only when there are rows.

Revision ID: 0015_webhook_secrets_encrypted
Revises: 0014_shared_limits
Create Date: 2026-12-02 04:10:00.000000
"""

import sqlalchemy as sa
from alembic import op

from returnflow.codec import EncryptionCodec
from returnflow.settings import Settings

revision = '0015_webhook_secrets_encrypted'
down_revision = '0014_shared_limits'
branch_labels = None
depends_on = None

endpoints = sa.table(
    'webhook_endpoints', sa.column('id', sa.String()), sa.column('secret', sa.String()),
    sa.column('encrypted_secret', sa.String()),
)


def _codec() -> EncryptionCodec:
    """The keys ``store.migrate.upgrade`` was given (the stack's dev keys), else RETURNFLOW_CODEC_KEYS."""
    config = op.get_context().config
    keys = (config.attributes.get('codec_keys') if config is not None else None) or Settings().codec_keys.get_secret_value()
    if not keys.strip():
        raise RuntimeError(
            'webhook endpoint secrets are kept encrypted with the codec keys: set RETURNFLOW_CODEC_KEYS '
            '(as the worker and the API have it) to run this migration'
        )
    return EncryptionCodec.from_text(keys)


def _rows(column: str) -> list[tuple[str, str]]:
    return [(row[0], row[1]) for row in op.get_bind().execute(sa.select(endpoints.c.id, endpoints.c[column]))]


def upgrade() -> None:
    with op.batch_alter_table('webhook_endpoints', schema=None) as batch_op:
        batch_op.add_column(sa.Column('encrypted_secret', sa.String(length=512), nullable=True))
    rows = _rows('secret')
    if rows:
        codec = _codec()
        for endpoint_id, secret in rows:
            op.get_bind().execute(
                endpoints.update()
                .where(endpoints.c.id == endpoint_id)
                .values(encrypted_secret=codec.seal(secret.encode(), endpoint_id.encode()))
            )
    with op.batch_alter_table('webhook_endpoints', schema=None) as batch_op:
        batch_op.alter_column('encrypted_secret', existing_type=sa.String(length=512), nullable=False)
        batch_op.drop_column('secret')


def downgrade() -> None:
    with op.batch_alter_table('webhook_endpoints', schema=None) as batch_op:
        batch_op.add_column(sa.Column('secret', sa.String(length=128), nullable=True))
    rows = _rows('encrypted_secret')
    if rows:
        codec = _codec()
        for endpoint_id, sealed in rows:
            op.get_bind().execute(
                endpoints.update()
                .where(endpoints.c.id == endpoint_id)
                .values(secret=codec.unseal(sealed, endpoint_id.encode()).decode())
            )
    with op.batch_alter_table('webhook_endpoints', schema=None) as batch_op:
        batch_op.alter_column('secret', existing_type=sa.String(length=128), nullable=False)
        batch_op.drop_column('encrypted_secret')
