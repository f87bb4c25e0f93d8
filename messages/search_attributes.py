"""The search attributes returnflow's workflows set, for Temporal UI and visibility queries.

One definition for the worker, the dev stack, the benchmark, the tests and the
deployment files (``docker-compose.yml`` registers the same; a test compares).
They carry no personal data.
"""

from temporalio.common import SearchAttributeKey

# Filterable in Temporal UI: `ReturnStatus = "needs_attention"`.
RETURN_STATUS = SearchAttributeKey.for_keyword("ReturnStatus")
# `ReturnPriority = "high"`: urged or needing a person; sorts the queues in Temporal UI as in the console.
RETURN_PRIORITY = SearchAttributeKey.for_keyword("ReturnPriority")

SEARCH_ATTRIBUTES: list[SearchAttributeKey[str]] = [RETURN_STATUS, RETURN_PRIORITY]


def dev_server_arguments() -> list[str]:
    """The ``temporal server start-dev`` flags that register every search attribute (the stack, the bench,
    docker-compose.yml — a test checks that file)."""
    arguments: list[str] = []
    for key in SEARCH_ATTRIBUTES:
        arguments += ["--search-attribute", f"{key.name}={key.indexed_value_type.name.title()}"]
    return arguments
