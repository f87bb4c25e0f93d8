"""Sandbox partners (carrier, payments, warehouse) as one HTTP service; see ``sandbox.app``."""
