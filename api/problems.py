"""RFC 9457 problem+json for every error the API answers."""

import re
from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = structlog.get_logger()

PROBLEM_TYPES = {
    400: "malformed-request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not-found",
    405: "method-not-allowed",
    409: "conflict",
    412: "precondition-failed",
    413: "payload-too-large",
    415: "unsupported-media-type",
    422: "unprocessable",
    429: "rate-limited",
    500: "internal-error",
    503: "unavailable",
}
TITLES = {
    400: "Malformed request",
    401: "Authentication required",
    403: "Not allowed for this role",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict with the current state",
    412: "Precondition failed",
    413: "Request too large",
    415: "Unsupported media type",
    422: "Request breaks a rule",
    429: "Too many requests",
    500: "Internal error",
    503: "Service unavailable",
}


class Problem(Exception):
    """Raise anywhere in a route to answer with a problem document."""

    def __init__(
        self,
        status: int,
        detail: str,
        errors: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
    ):
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.errors = errors or []
        self.headers = headers or {}


def problem_response(
    status: int, detail: str, errors: list[dict[str, Any]] | None = None, headers: dict[str, str] | None = None
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": f"https://returnflow.dev/problems/{PROBLEM_TYPES.get(status, 'error')}",
        "title": TITLES.get(status, "Error"),
        "status": status,
        "detail": detail,
    }
    if errors:
        # As documented (ProblemError): each error has a code and a message; the detail stands in for a missing one.
        body["errors"] = [{"code": "invalid", **error, "message": error.get("message") or detail} for error in errors]
    return JSONResponse(body, status_code=status, media_type="application/problem+json", headers=headers)


def _field(location: tuple[Any, ...]) -> str:
    parts = [str(p) for p in location if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or "body"


def validation_problem(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = exc.errors()
    if any(e.get("type") == "json_invalid" for e in errors):
        return problem_response(400, "the body is not valid JSON")
    if any(e.get("type") == "missing" and tuple(e.get("loc", ())) == ("body",) for e in errors):
        return problem_response(400, "a JSON body is required")
    return problem_response(
        422,
        "some fields are invalid",
        [
            {"field": _field(tuple(e.get("loc", ()))), "code": e.get("type", "invalid"), "message": e.get("msg", "")}
            for e in errors
        ],
    )


def _http_problem(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    headers = getattr(exc, "headers", None)
    if exc.status_code == 405:
        headers = {**(headers or {}), "Allow": ", ".join(allowed_methods(request))}
    return problem_response(exc.status_code, str(exc.detail), headers=headers)


METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def allowed_methods(request: Request) -> list[str]:
    """The methods of the resource at the request's path (Starlette names only those of its first route).

    The resource is the documented path that names the request's path most exactly: ``/v1/returns/preview``
    is the preview, not a return whose id is "preview". Undocumented paths are probed route by route.
    """
    path = request.scope.get("path", "")
    matching = [
        (template.count("{"), operations)
        for template, operations in request.app.openapi().get("paths", {}).items()
        if re.fullmatch(re.sub(r"\\\{[^/]*?\\\}", "[^/]+", re.escape(template)), path)
    ]
    if matching:
        operations = min(matching, key=lambda found: found[0])[1]
        return [method for method in METHODS if method.lower() in operations]
    routes = request.app.router.routes
    return [
        method
        for method in METHODS
        if any(route.matches({**request.scope, "method": method})[0] == Match.FULL for route in routes)
    ]


def _our_problem(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, Problem)
    return problem_response(exc.status, exc.detail, exc.errors, exc.headers)


def _unexpected(_: Request, exc: Exception) -> JSONResponse:
    # exc_info given: Starlette runs this handler in a thread, outside the except block that caught exc.
    log.error("unhandled error", error=str(exc), exc_info=exc)
    return problem_response(500, "an unexpected error occurred; it has been logged")


class ProblemError(BaseModel):
    """One thing wrong with the request: a ``field`` (dotted path) or a ``line_id``, a ``code`` and a message."""

    field: str | None = None
    line_id: str | None = None
    code: str
    message: str


class ProblemDocument(BaseModel):
    """An RFC 9457 problem document (``application/problem+json``)."""

    type: str
    title: str
    status: int
    detail: str
    errors: list[ProblemError] | None = None


# The error answers documented on every operation of the API (what each status means: the contract's Conventions).
DOCUMENTED_PROBLEMS = (400, 401, 403, 404, 409, 413, 422, 429, 503)


def document_problems(app: FastAPI, prefixes: tuple[str, ...] = ("/v1/", "/codec/")) -> None:
    """Declare the problem+json error answers in ``/openapi.json`` for the operations under ``prefixes``.

    FastAPI documents only the success answer and a 422 with its own (unused) schema;
    this replaces the 422 and adds the others, all as ``application/problem+json``.
    """
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = generate()
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        definition = ProblemDocument.model_json_schema(ref_template="#/components/schemas/{model}")
        components.update(definition.pop("$defs", {}))
        components["Problem"] = definition
        for path, operations in schema.get("paths", {}).items():
            if not path.startswith(prefixes):
                continue
            for operation in operations.values():
                responses = operation.setdefault("responses", {})
                for status in DOCUMENTED_PROBLEMS:
                    responses[str(status)] = {
                        "description": TITLES[status],
                        "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}},
                    }
        for unused in ("HTTPValidationError", "ValidationError"):
            components.pop(unused, None)
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


# --- the database is down, gone or busy -------------------------------------------------------------

# PostgreSQL error classes that say "not now" rather than "never": connection exception (08), insufficient
# resources (53, e.g. too many connections), operator intervention (57P: shutdown, terminated, starting up),
# serialization failure and deadlock (40001, 40P01).
TRANSIENT_SQLSTATES = ("08", "53", "57P", "40001", "40P01")
# SQLite's words for the same ("database is locked" once the busy timeout has run out).
TRANSIENT_SQLITE_ERRORS = ("database is locked", "database table is locked", "unable to open database", "disk i/o")
DATABASE_RETRY_AFTER_SECONDS = 5
# Requests that change nothing may run again after the connection they were using was lost.
RETRIABLE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def database_unavailable(error: BaseException) -> bool:
    """Is ``error`` the database being unreachable, dropped or busy (worth a retry later), not a bug?"""
    if isinstance(error, PoolTimeout):  # every pooled connection is busy
        return True
    if isinstance(error, DBAPIError):
        if error.connection_invalidated:
            return True
        sqlstate = getattr(error.orig, "sqlstate", None) or getattr(error.orig, "pgcode", None)
        if isinstance(sqlstate, str) and sqlstate.startswith(TRANSIENT_SQLSTATES):
            return True
        return any(words in str(error.orig).lower() for words in TRANSIENT_SQLITE_ERRORS)
    # A database that cannot be reached: the driver's connect fails before SQLAlchemy can wrap it.
    return isinstance(error, OSError | TimeoutError)


def _lost_connection(error: BaseException) -> bool:
    return isinstance(error, DBAPIError) and error.connection_invalidated


class DatabaseTrouble:
    """The database down, dropped or busy answers 503 problem+json with ``Retry-After``, never 500.

    A request that changes nothing (``RETRIABLE_METHODS``) and lost its connection
    midway runs once more, on a fresh connection (the pool has dropped the dead ones;
    ``pool_pre_ping`` catches those lost while idle before they are used). A request
    that may have changed something is not run again here: its caller retries (with
    its Idempotency-Key) after the 503.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def watched(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        retried = scope["method"] not in RETRIABLE_METHODS
        while True:
            try:
                await self.app(scope, receive, watched)
                return
            except Exception as error:
                if started or not database_unavailable(error):
                    raise
                if not retried and _lost_connection(error):
                    retried = True
                    log.warning("database connection lost; running the request again", error=str(error))
                    receive = _empty_body(receive)
                    continue
                log.warning("database unavailable", error=str(error), error_type=type(error).__name__)
                await problem_response(
                    503,
                    "the database is unavailable or busy; try again shortly",
                    headers={"Retry-After": str(DATABASE_RETRY_AFTER_SECONDS)},
                )(scope, receive, send)
                return


def _empty_body(receive: Receive) -> Receive:
    """A ``receive`` for a second run of a bodiless request: the (empty) body once, then the client's."""
    sent = False

    async def again() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": b"", "more_body": False}
        return await receive()

    return again


def install_problem_handlers(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, validation_problem)
    app.add_exception_handler(StarletteHTTPException, _http_problem)
    app.add_exception_handler(Problem, _our_problem)
    app.add_exception_handler(Exception, _unexpected)
