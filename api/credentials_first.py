"""Credentials are checked before the request is: an anonymous caller learns 401, not what its body lacks.

FastAPI validates the parameters and the body before it runs a route's dependencies, and
answers a ``RequestValidationError`` without running them at all. The handler installed
here first authenticates the caller the way the matched route would (bearer credential,
carrier signature, or the codec's local Temporal UI) and answers that route's 401 when
the credentials are missing or invalid; only a caller that gets through sees the 422
(or the 400 of a malformed body). Which role may call the route (403) is left to the
route, as before.
"""

from collections.abc import Callable, Iterator
from typing import Any

from fastapi import FastAPI, Request
from fastapi.dependencies.models import Dependant
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.auth import authenticate, bearer, carrier_or_service, carrier_signature_header
from api.problems import Problem, problem_response, validation_problem
from api.routes.codec import codec_caller


async def credentials_refusal(request: Request) -> JSONResponse | None:
    """The 401 the matched route would answer this request's credentials with, or None when they pass."""
    gate = _gate(request)
    if gate is None:
        return None
    try:
        await gate(request)
    except Problem as refused:
        if refused.status == 401:
            return problem_response(refused.status, refused.detail, refused.errors, refused.headers)
    except StarletteHTTPException as refused:
        if refused.status_code == 401:
            return problem_response(401, str(refused.detail), headers=getattr(refused, "headers", None))
    return None


async def _authenticate(request: Request) -> None:
    await authenticate(request, await bearer(request))


async def _carrier_or_service(request: Request) -> None:
    await carrier_or_service(request, await bearer(request), await carrier_signature_header(request))


async def _codec(request: Request) -> None:
    await codec_caller(request, request.app.state.settings, await bearer(request))


# The dependencies that authenticate, the most specific first (carrier_or_service and codec_caller use authenticate).
_GATES: tuple[tuple[Callable[..., Any], Callable[[Request], Any]], ...] = (
    (carrier_or_service, _carrier_or_service),
    (codec_caller, _codec),
    (authenticate, _authenticate),
)


def _gate(request: Request) -> Callable[[Request], Any] | None:
    route = request.scope.get("route")
    if not isinstance(route, APIRoute):
        return None
    calls = {dependency.call for dependency in _walk(route.dependant)}
    return next((check for dependency, check in _GATES if dependency in calls), None)


def _walk(dependant: Dependant) -> Iterator[Dependant]:
    for dependency in dependant.dependencies:
        yield dependency
        yield from _walk(dependency)


async def _validation_after_credentials(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    return await credentials_refusal(request) or validation_problem(request, exc)


def install_credentials_first(app: FastAPI) -> None:
    """Answer invalid requests only to callers with valid credentials (after ``install_problem_handlers``)."""
    app.add_exception_handler(RequestValidationError, _validation_after_credentials)
