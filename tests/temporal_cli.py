"""Running the ``temporal`` CLI from a test, as an operator would."""

import asyncio
import os

from returnflow.temporal_binaries import temporal_cli_path


async def temporal_cli(*args: str) -> str:
    """Run the ``temporal`` CLI without blocking the loop (the API and the worker run on it)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TEMPORAL_")}  # no stray profile/codec
    process = await asyncio.create_subprocess_exec(
        temporal_cli_path(), *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=env
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode == 0, err.decode()
    return out.decode()
