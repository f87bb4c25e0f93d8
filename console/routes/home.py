"""The console's front page: what waits in each queue."""

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from console.sessions import SignedInUser
from console.templating import render

router = APIRouter(prefix="/console", include_in_schema=False)


@router.get("/", response_class=HTMLResponse)
async def home(request: Request, user: SignedInUser) -> HTMLResponse:
    return await render(request, user, "home.html")
