"""Reads at a fixed concurrency from wrk (Debian's ``wrk``, installed by ./scripts/bootstrap), not from Python.

An httpx client spends about 2.4 ms of CPU per request, more than the API spends answering one: on a
2-core machine a Python reader measures itself (the driver's aiohttp client, bench/http_client.py, still
spends 0.2 ms). wrk is a small C load generator (epoll, one thread here) that costs next to nothing per
request, so the cores go to the API being measured.

A generated Lua script picks one of the paths at random for each request, sends the bearer key, and prints
its summary as one JSON line at the end: the requests, the failures (connection errors, timeouts, non-2xx
answers) and the latency percentiles, which wrk records for every request.
"""

import asyncio
import json
import shutil
import tempfile
from pathlib import Path
from typing import Any

WRK = "wrk"
_SUMMARY_MARK = "WRK-SUMMARY "

_SCRIPT = """
local paths = {%(paths)s}
wrk.headers["Authorization"] = "Bearer %(key)s"
request = function()
  return wrk.format("GET", paths[math.random(#paths)])
end
done = function(summary, latency, requests)
  local e = summary.errors
  local failed = e.connect + e.read + e.write + e.timeout + e.status
  local ms = function(p) return latency:percentile(p) / 1000 end
  io.write(string.format(
    '%(mark)s{"requests": %%d, "failed": %%d, "non_2xx": %%d, "timeouts": %%d, "seconds": %%.3f, ' ..
    '"mean": %%.1f, "p50": %%.1f, "p95": %%.1f, "p99": %%.1f, "max": %%.1f}\\n',
    summary.requests, failed, e.status, e.timeout, summary.duration / 1e6,
    latency.mean / 1000, ms(50), ms(95), ms(99), latency.max / 1000))
end
"""


class WrkMissing(RuntimeError):
    pass


def require_wrk() -> str:
    path = shutil.which(WRK)
    if path is None:
        raise WrkMissing("the read phase needs wrk (Debian's package 'wrk'): ./scripts/bootstrap installs it")
    return path


async def wrk_reads(base_url: str, key: str, paths: list[str], connections: int, seconds: float) -> dict[str, Any]:
    """GETs of random ``paths`` over ``connections`` kept-alive connections for ``seconds``, in the shape of
    ``bench.api_load.Timed.figures``."""
    wrk = require_wrk()
    with tempfile.TemporaryDirectory(prefix="returnflow-wrk-") as folder:
        script = Path(folder) / "reads.lua"
        quoted = ",".join(json.dumps(path) for path in paths)
        script.write_text(_SCRIPT % {"paths": quoted, "key": key, "mark": _SUMMARY_MARK})
        process = await asyncio.create_subprocess_exec(
            wrk,
            "--threads=1",
            f"--connections={connections}",
            f"--duration={max(1, round(seconds))}s",
            "--timeout=10s",
            f"--script={script}",
            base_url,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await process.communicate()
    lines = [line for line in out.decode().splitlines() if line.startswith(_SUMMARY_MARK)]
    if process.returncode != 0 or not lines:
        raise RuntimeError(f"wrk failed ({process.returncode}): {err.decode().strip() or out.decode().strip()}")
    summary = json.loads(lines[0].removeprefix(_SUMMARY_MARK))
    ok = summary["requests"] - summary["failed"]
    sample = [f"{summary['non_2xx']} answers not 2xx, {summary['timeouts']} timeouts"] if summary["failed"] else []
    return {
        "ok": ok,
        "errors": summary["failed"],
        "error_sample": sample,
        "per_s": round(ok / summary["seconds"], 1) if summary["seconds"] else 0.0,
        "ms": {name: summary[name] for name in ("mean", "p50", "p95", "p99", "max")},
        "client": "wrk",
    }
