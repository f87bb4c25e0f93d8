"""The app database: orders, the read model of returns, policies, API keys.

Temporal holds the running state of each return; these tables hold what it
should not (synced orders, the queryable read model, credentials). Schema
changes go through the Alembic migrations in ``store/migrations``.
"""
