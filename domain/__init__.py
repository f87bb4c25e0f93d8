"""Pure business logic: no I/O, no clock, no randomness.

Imported by the API (validation, preview) and by workflows (as a sandbox
pass-through module), so the same rule gives the same answer everywhere.
"""
