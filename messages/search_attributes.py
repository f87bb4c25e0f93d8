"""The search attributes returnflow's workflows set, for Temporal UI and visibility queries.

One definition for the worker, the dev stack, the benchmark, the tests and the
deployment files (``docker-compose.yml`` registers the same; a test compares).
They carry no personal data.
"""

from temporalio.common import SearchAttributeKey

# Filterable in Temporal UI: `ReturnStatus = "needs_attention"`.
RETURN_STATUS = SearchAttributeKey.for_keyword("ReturnStatus")

SEARCH_ATTRIBUTES: list[SearchAttributeKey[str]] = [RETURN_STATUS]
