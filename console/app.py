"""Mounting the console on the API's app: its routes, its static files, where a missing session leads."""

from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from console.routes import all_returns, dashboard, home, login, policy, queues, return_page, station, tickets, track
from console.sessions import PATH, CsrfRefused, LoginRequired, login_url
from console.templating import respond

STATIC = Path(__file__).with_name("static")
ROUTERS = (login, home, queues, all_returns, return_page, station, policy, tickets, dashboard, track)


def install_console(app: FastAPI) -> None:
    for module in ROUTERS:
        app.include_router(module.router)
    app.mount(PATH + "/static", StaticFiles(directory=STATIC), name="console-static")
    app.add_exception_handler(LoginRequired, _to_login)  # type: ignore[arg-type]
    app.add_exception_handler(CsrfRefused, _csrf_refused)  # type: ignore[arg-type]


async def _to_login(request: Request, missing: LoginRequired) -> Response:
    """A full page goes to the login form; an htmx request is told to send the whole window there."""
    target = login_url(missing.next_path if request.method == "GET" else PATH + "/")
    if request.headers.get("HX-Request"):
        return Response(status_code=204, headers={"HX-Redirect": target})
    return RedirectResponse(target, status_code=303)


async def _csrf_refused(_request: Request, _refused: CsrfRefused) -> HTMLResponse:
    return respond("refused.html", {}, "en", status_code=403)
