"""With ``RETURNFLOW_LOG_FORMAT=json`` every line the API writes is one JSON object.

The API runs as an operator may run it, under uvicorn's command line (which sets up plain-text logging of its
own before it loads the app), with two test-only routes (tests/crashing_api.py). Its requests include one that
crashes: that request still gets its structured ``request`` line, and the traceback is a field of a JSON line,
not lines of text. A partner call is logged by the connector at DEBUG only, and httpx says nothing of it.
"""

import asyncio
import json
import os
import signal
import socket
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
from temporalio.testing import WorkflowEnvironment

from store.migrate import upgrade_async
from tests.conftest import TEST_CODEC_KEYS

ROOT = Path(__file__).resolve().parent.parent
START_TIMEOUT = 60.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def run_api(tmp_path: Path, temporal_address: str, sandbox_url: str, level: str) -> tuple[list[str], list[str]]:
    """Start the API, make its requests, stop it (SIGTERM); its stdout and stderr lines."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'returnflow.db'}"
    await upgrade_async(url)
    port = free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("RETURNFLOW_")},
        "DATABASE_URL": url,
        "RETURNFLOW_CODEC_KEYS": TEST_CODEC_KEYS,
        "RETURNFLOW_TEMPORAL_ADDRESS": temporal_address,
        "RETURNFLOW_SANDBOX_URL": sandbox_url,
        "RETURNFLOW_LOG_FORMAT": "json",
        "RETURNFLOW_LOG_LEVEL": level,
    }
    argv = [sys.executable, "-m", "uvicorn", "tests.crashing_api:create_crashing_app", "--factory"]
    process = await asyncio.create_subprocess_exec(
        *argv, "--host", "127.0.0.1", "--port", str(port),
        cwd=tmp_path, env={**env, "PYTHONPATH": str(ROOT)},
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30, trust_env=False) as client:
            await wait_until_serving(client, process)
            assert (await client.get("/v1/returns/ret_x")).status_code == 401
            assert (await client.get("/no/such/page")).status_code == 404
            partner = await client.get("/test-only/partner")
            assert partner.status_code == 200, partner.text
            # Last: uvicorn closes the connection of a request that raised.
            crashed = await client.get("/test-only/crash")
            assert crashed.status_code == 500
            assert crashed.headers["content-type"] == "application/problem+json"
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
        stdout, stderr = await asyncio.wait_for(process.communicate(), timeout=60)
    return stdout.decode().splitlines(), stderr.decode().splitlines()


async def wait_until_serving(client: httpx.AsyncClient, process: asyncio.subprocess.Process) -> None:
    deadline = asyncio.get_running_loop().time() + START_TIMEOUT
    while asyncio.get_running_loop().time() < deadline:
        assert process.returncode is None, "the API exited while starting"
        try:
            if (await client.get("/health/live")).status_code == 200:
                return
        except httpx.TransportError:
            pass
        await asyncio.sleep(0.2)
    raise AssertionError(f"the API did not answer within {START_TIMEOUT:.0f} s")


def parsed(lines: list[str], stream: str) -> list[dict[str, Any]]:
    records = []
    for line in lines:
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            pytest.fail(f"a line on {stream} is not JSON: {line!r}")
        assert isinstance(record, dict), line
        records.append(record)
    return records


@pytest.mark.parametrize("level", ["INFO", "DEBUG"])
async def test_every_line_the_api_writes_is_one_json_object(
    tmp_path: Path, local_env: WorkflowEnvironment, sandbox_url: str, level: str
) -> None:
    temporal_address = local_env.client.service_client.config.target_host
    stdout, stderr = await run_api(tmp_path, temporal_address, sandbox_url, level)
    records = parsed(stdout, "stdout") + parsed(stderr, "stderr")

    requests = {record["path"]: record for record in records if record.get("event") == "request"}
    assert requests["/test-only/crash"]["status"] == 500
    assert requests["/test-only/crash"]["request_id"]
    assert requests["/v1/returns/ret_x"]["status"] == 401 and requests["/no/such/page"]["status"] == 404
    tracebacks = [record["exception"] for record in records if "exception" in record]
    assert tracebacks and all("RuntimeError: a bug, on purpose" in text for text in tracebacks)
    uvicorn = [record for record in records if str(record.get("logger", "")).startswith("uvicorn")]
    assert any("Application startup complete" in record["event"] for record in uvicorn), "uvicorn's lines are gone"
    assert any(record["logger"] == "uvicorn.access" for record in uvicorn), "uvicorn's access lines are gone"

    assert [record for record in records if str(record.get("logger", "")).startswith(("httpx", "httpcore"))] == []
    partner_calls = [record for record in records if record.get("event") == "partner_call"]
    assert [record["level"] for record in partner_calls] == (["debug"] if level == "DEBUG" else [])
