"""The driver's HTTP client: aiohttp, behind the little the bench asks of one (JSON in, status and JSON out).

The bench runs on the cores it measures, so its own client is part of what it measures. httpx spent
2.3–2.6 ms of CPU per request here, aiohttp 0.2 ms (3,000 GETs of a 2 KB JSON answer, 20 at a time, against
a bare ASGI app): at 16–18 requests a return, httpx took about 40 ms of the 250 ms of CPU a return cost in
``./scripts/bench --worker-process``, CPU the stack under test did not get. (Reads under load go through wrk,
bench/wrk.py, for the same reason.)
"""

import json
from dataclasses import dataclass
from typing import Any

import aiohttp


@dataclass(frozen=True)
class Answer:
    """One HTTP answer, read whole."""

    method: str
    path: str
    status_code: int
    content: bytes

    def json(self) -> Any:
        return json.loads(self.content)

    @property
    def text(self) -> str:
        return self.content.decode(errors="replace")


class NoAnswer(Exception):
    """The request got no HTTP answer: the connection was refused or reset, or it timed out."""


class JsonClient:
    """Requests to one base URL with the same headers, over kept-alive connections.

    Idle connections are dropped after ``keepalive_s``, before uvicorn drops them (its keep-alive is 5 s):
    reusing one it is closing would fail, and the run would stop on the bench's own client.
    """

    def __init__(
        self,
        base_url: str,
        headers: dict[str, str],
        *,
        timeout_s: float = 60.0,
        keepalive_s: float = 2.0,
        connections: int = 200,
    ) -> None:
        self._session = aiohttp.ClientSession(
            base_url=base_url,
            headers=headers,
            timeout=aiohttp.ClientTimeout(total=timeout_s),
            connector=aiohttp.TCPConnector(limit=connections, keepalive_timeout=keepalive_s),
        )

    async def request(
        self, method: str, path: str, *, json: Any = None, headers: dict[str, str] | None = None
    ) -> Answer:
        try:
            async with self._session.request(method, path, json=json, headers=headers) as response:
                return Answer(method, path, response.status, await response.read())
        except (aiohttp.ClientError, TimeoutError) as failure:
            raise NoAnswer(f"{method} {path}: {failure!r}") from failure

    async def get(self, path: str) -> Answer:
        return await self.request("GET", path)

    async def post(self, path: str, *, json: Any, headers: dict[str, str] | None = None) -> Answer:
        return await self.request("POST", path, json=json, headers=headers)

    async def put(self, path: str, *, json: Any) -> Answer:
        return await self.request("PUT", path, json=json)

    async def close(self) -> None:
        await self._session.close()
