"""``returnflow temporal setup``: the namespace's search attributes and Schedules, against a real dev server that
starts without them (as a new cluster's namespace does); twice, since every deploy runs it. The command runs as
an operator runs it, in a process of its own."""

import asyncio
import os
import secrets
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import ListSearchAttributesRequest
from temporalio.common import SearchAttributeKey
from temporalio.testing import WorkflowEnvironment

from messages.search_attributes import SEARCH_ATTRIBUTES
from returnflow.schedules import jobs, schedule_id
from returnflow.settings import Settings
from returnflow.temporal import data_converter
from returnflow.temporal_binaries import temporal_cli_path
from returnflow.temporal_setup import SetupRefused, register_search_attributes

RETURNFLOW = Path(sys.executable).with_name("returnflow")  # the command the virtualenv installs


@pytest.fixture(scope="module")
async def bare_server() -> AsyncIterator[WorkflowEnvironment]:
    """A dev server of its own, with no custom search attribute registered."""
    env = await WorkflowEnvironment.start_local(
        data_converter=data_converter(), dev_server_existing_path=temporal_cli_path(), dev_server_log_level="error"
    )
    yield env
    await env.shutdown()


async def temporal_setup(folder: Path, **variables: str) -> tuple[int, str]:
    """``returnflow temporal setup`` run in ``folder`` (no stray ``.env``): its exit code and what it told people."""
    process = await asyncio.create_subprocess_exec(
        str(RETURNFLOW),
        *("temporal", "setup"),
        env={**os.environ, **variables},
        cwd=folder,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    _, told = await asyncio.wait_for(process.communicate(), timeout=120)
    assert process.returncode is not None
    return process.returncode, told.decode()


async def custom_attributes(env: WorkflowEnvironment) -> dict[str, int]:
    listed = await env.client.operator_service.list_search_attributes(
        ListSearchAttributesRequest(namespace=env.client.namespace)
    )
    return dict(listed.custom_attributes)


async def test_setup_registers_the_search_attributes_and_the_schedules_and_a_second_run_changes_nothing(
    bare_server: WorkflowEnvironment, tmp_path: Path
) -> None:
    names = sorted(key.name for key in SEARCH_ATTRIBUTES)
    assert not set(names) & set(await custom_attributes(bare_server))
    task_queue = "returnflow-test-" + secrets.token_hex(4)
    where = {
        "RETURNFLOW_TEMPORAL_ADDRESS": bare_server.client.service_client.config.target_host,
        "RETURNFLOW_TASK_QUEUE": task_queue,
    }

    first_code, first = await temporal_setup(tmp_path, **where)
    again_code, again = await temporal_setup(tmp_path, **where)

    assert first_code == 0, first
    assert f"added {', '.join(names)}; already there none" in first
    assert again_code == 0, again
    assert f"added none; already there {', '.join(names)}" in again
    registered = await custom_attributes(bare_server)
    assert {key.name: registered[key.name] for key in SEARCH_ATTRIBUTES} == {
        key.name: key.indexed_value_type.value for key in SEARCH_ATTRIBUTES
    }
    settings = Settings(task_queue=task_queue)
    for job in jobs(settings):
        described = await bare_server.client.get_schedule_handle(schedule_id(settings, job)).describe()
        assert described.schedule.spec.intervals[0].every == job.every
    assert f"{task_queue}-deliver-webhooks" in again


async def test_search_attributes_of_every_type_are_registered_once(bare_server: WorkflowEnvironment) -> None:
    suffix = secrets.token_hex(3)
    keys: list[SearchAttributeKey[Any]] = [
        SearchAttributeKey.for_keyword(f"SetupKeyword{suffix}"),
        SearchAttributeKey.for_int(f"SetupInt{suffix}"),
        SearchAttributeKey.for_float(f"SetupDouble{suffix}"),
        SearchAttributeKey.for_bool(f"SetupBool{suffix}"),
        SearchAttributeKey.for_datetime(f"SetupDatetime{suffix}"),
        SearchAttributeKey.for_text(f"SetupText{suffix}"),
    ]
    added, present = await register_search_attributes(bare_server.client, keys)
    assert (sorted(added), present) == (sorted(key.name for key in keys), [])
    assert await register_search_attributes(bare_server.client, keys) == ([], sorted(key.name for key in keys))
    registered = await custom_attributes(bare_server)
    assert registered[f"SetupDouble{suffix}"] == IndexedValueType.INDEXED_VALUE_TYPE_DOUBLE
    assert registered[f"SetupDatetime{suffix}"] == IndexedValueType.INDEXED_VALUE_TYPE_DATETIME


async def test_an_attribute_registered_with_another_type_is_a_clear_error(local_env: WorkflowEnvironment) -> None:
    # The session's dev server has ReturnStatus as a Keyword.
    with pytest.raises(SetupRefused, match="ReturnStatus is Keyword, returnflow needs Int") as refused:
        await register_search_attributes(local_env.client, [SearchAttributeKey.for_int("ReturnStatus")])
    assert "search-attribute remove" in str(refused.value)


async def test_setup_without_temporal_says_where_it_looked(tmp_path: Path) -> None:
    code, told = await temporal_setup(
        tmp_path, RETURNFLOW_TEMPORAL_ADDRESS="127.0.0.1:1", RETURNFLOW_TEMPORAL_WAIT_SECONDS="2"
    )
    assert code == 1
    assert "waiting for Temporal at 127.0.0.1:1" in told
    assert "Not set up: Temporal at 127.0.0.1:1" in told and "Connection refused" in told
