"""Preparing a Temporal namespace for returnflow (``returnflow temporal setup``): its search attributes and Schedules.

Run once per deploy, against any cluster, before or alongside the workers; running it again changes
nothing that is already right. The search attributes are those of ``messages/search_attributes.py``,
registered through the operator service: one already registered with the same type is left alone,
one registered with another type is an error (the workflows' upserts would fail), never changed here.
The Schedules are created or brought in line with the code (``returnflow/schedules.py``).
The dev stack's worker runs the same at start (``temporal_setup_on_start``).
"""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import structlog
from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest, ListSearchAttributesRequest
from temporalio.client import Client
from temporalio.common import SearchAttributeKey
from temporalio.service import RPCError

from messages.search_attributes import SEARCH_ATTRIBUTES
from returnflow.schedules import ensure_schedules
from returnflow.settings import Settings

log = structlog.get_logger()


class SetupRefused(Exception):
    """The namespace cannot be set up as returnflow needs; the message says what to do."""


@dataclass(frozen=True)
class SetupDone:
    registered: list[str]  # search attributes added now
    already_registered: list[str]
    schedules: list[str]


async def setup_namespace(client: Client, settings: Settings) -> SetupDone:
    """Register the search attributes, then create or update the Schedules."""
    registered, present = await register_search_attributes(client, SEARCH_ATTRIBUTES)
    schedules = await ensure_schedules(client, settings)
    return SetupDone(registered, present, schedules)


async def register_search_attributes(
    client: Client, keys: Sequence[SearchAttributeKey[Any]]
) -> tuple[list[str], list[str]]:
    """Add the ``keys`` the namespace lacks; returns (added, already there). Raises ``SetupRefused``."""
    namespace = client.namespace
    try:
        listed = await client.operator_service.list_search_attributes(ListSearchAttributesRequest(namespace=namespace))
        existing = {**listed.system_attributes, **listed.custom_attributes}
        wanted = {key.name: IndexedValueType.ValueType(key.indexed_value_type.value) for key in keys}
        conflicts = [
            f"{name} is {_type_name(existing[name])}, returnflow needs {_type_name(kind)}"
            for name, kind in wanted.items()
            if name in existing and existing[name] != kind
        ]
        if conflicts:
            raise SetupRefused(
                f"namespace {namespace} has search attributes of another type: {'; '.join(conflicts)}. "
                "Remove them (temporal operator search-attribute remove) or use another namespace."
            )
        missing = {name: kind for name, kind in wanted.items() if name not in existing}
        if missing:
            await client.operator_service.add_search_attributes(
                AddSearchAttributesRequest(namespace=namespace, search_attributes=missing)
            )
            log.info("search_attributes_registered", namespace=namespace, names=sorted(missing))
    except RPCError as error:
        raise SetupRefused(
            f"Temporal refused to register the search attributes of namespace {namespace}: {error.message} "
            "(on Temporal Cloud, add them in the Cloud UI or with tcld; see docs/operations.md)"
        ) from None
    return sorted(missing), sorted(name for name in wanted if name in existing)


def _type_name(kind: "IndexedValueType.ValueType") -> str:
    return IndexedValueType.Name(kind).removeprefix("INDEXED_VALUE_TYPE_").title()
