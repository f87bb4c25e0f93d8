"""Throughput benchmark: returns over the HTTP API against a bare Temporal baseline (``./scripts/bench``)."""
