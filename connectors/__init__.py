"""Connectors: one small protocol per partner, with an HTTP implementation (a merchant points it at its own
systems; in development it points at the sandbox service)."""
