"""Chaos run: returns driven to their end while the worker is SIGKILLed, the database connections are
cut and the payments sandbox declines, fails or stalls (``./scripts/chaos``; see chaos/run.py)."""
