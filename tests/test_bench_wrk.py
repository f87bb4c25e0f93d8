"""The read phase's load generator (bench/wrk.py): what it reports is what the server answered."""

from collections import Counter

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from bench.wrk import wrk_reads
from returnflow.serve import serve_app


def counting_app(seen: Counter[str]) -> FastAPI:
    app = FastAPI()

    @app.get("/things/{name}")
    async def thing(name: str, request: Request) -> JSONResponse:
        seen[request.headers.get("authorization", "")] += 1
        return JSONResponse({"name": name}, status_code=404 if name == "missing" else 200)

    return app


async def test_wrk_spreads_requests_over_the_paths_with_the_key_and_counts_what_failed() -> None:
    seen: Counter[str] = Counter()
    async with serve_app(counting_app(seen)) as url:
        clean = await wrk_reads(url, "k1", ["/things/a", "/things/b"], connections=4, seconds=1)
        mixed = await wrk_reads(url, "k1", ["/things/a", "/things/missing"], connections=4, seconds=1)

    assert clean["ok"] > 50 and clean["errors"] == 0 and clean["error_sample"] == []
    assert clean["per_s"] > 50
    assert 0 < clean["ms"]["p50"] <= clean["ms"]["p99"] <= clean["ms"]["max"]
    assert set(seen) == {"Bearer k1"}, "every request carries the key"
    assert mixed["errors"] > 0 and mixed["ok"] > 0, "the 404s are failures, the 200s are not"
    assert "not 2xx" in mixed["error_sample"][0]
