"""The policy page: the version in force, a draft edited as a form or as YAML, simulated, then published.

Publishing is offered only for a draft whose simulation the operator has seen (the form carries the
digest of the draft simulated; a draft changed since is simulated again first), and only over the
version the draft was based on (``api.policy_editing.publish_policy``: a version published
meanwhile refuses it, and the page shows what that version changed, the draft kept).
"""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession

from api.policy_editing import PolicyMovedOn, publish_policy, simulate_candidate
from console.policy_drafts import FORM_FIELDS, Change, Draft, changes, from_form, from_yaml, of_policy
from console.sessions import PATH, ConsoleUser, SignedInUser
from console.templating import render
from domain.policy import Policy
from domain.simulation import SimulationReport
from store import audit, policies
from store.audit import AuditItem

router = APIRouter(prefix=PATH, include_in_schema=False)

Editor = Literal["form", "yaml"]
Intent = Literal["check", "simulate", "publish"]
# How far back a simulation looks, in days (the operator picks one); and how many changed returns it lists.
SIMULATION_DAYS = (7, 30, 90)
DEFAULT_DAYS = 30
SAMPLE_SIZE = 20


@dataclass
class PolicyPage:
    """What the page shows besides the draft: the version in force and what the last step found."""

    version: int
    policy: Policy
    publication: AuditItem | None
    based_on: int
    editor: Editor = "form"
    days: int = DEFAULT_DAYS
    draft_changes: list[Change] | None = None
    report: SimulationReport | None = None
    simulated: str = ""
    moved_on: list[Change] | None = None
    published: bool = False
    review_first: bool = False


async def _in_force(session: AsyncSession) -> tuple[int, Policy, AuditItem | None]:
    """The current version, and who published it when (none for the shipped default)."""
    version, policy = await policies.current_policy(session)
    entries, _ = await audit.entries(session, f"policy:{version}", 1, None)
    return version, policy, entries[0] if entries else None


async def _show(request: Request, user: ConsoleUser, page: PolicyPage, draft: Draft, status: int = 200) -> HTMLResponse:
    return await render(
        request,
        user,
        "policy.html",
        status_code=status,
        section="policy",
        page=page,
        draft=draft,
        document=page.policy.model_dump(mode="json"),
        form_fields=FORM_FIELDS,
        simulation_days=SIMULATION_DAYS,
    )


@router.get("/policy", response_class=HTMLResponse)
async def policy_page(
    request: Request, user: SignedInUser, editor: Editor = "form", published: int | None = None
) -> HTMLResponse:
    async with request.app.state.database.sessions() as session:
        version, policy, publication = await _in_force(session)
    page = PolicyPage(version, policy, publication, based_on=version, editor=editor, published=published == version)
    return await _show(request, user, page, of_policy(policy))


@router.post("/policy", response_class=HTMLResponse, response_model=None)
async def edit_policy(
    request: Request,
    user: SignedInUser,
    based_on: Annotated[int, Form(ge=1)],
    editor: Annotated[Editor, Form()] = "form",
    intent: Annotated[Intent, Form()] = "check",
    days: Annotated[int, Form()] = DEFAULT_DAYS,
    simulated: Annotated[str, Form(max_length=64)] = "",
    document: Annotated[str, Form(max_length=200_000)] = "",
) -> Response:
    """Check, simulate or publish the draft the editor sent; the draft is always shown back as written."""
    database = request.app.state.database
    form = await request.form()
    settings = {
        setting.name: [value for value in form.getlist(setting.name) if isinstance(value, str)]
        for setting in FORM_FIELDS
    }
    async with database.sessions() as session:
        version, policy, publication = await _in_force(session)
        base = await policies.policy_version(session, based_on)
    draft = from_yaml(document) if editor == "yaml" else from_form(base, settings)
    page = PolicyPage(version, policy, publication, based_on, editor, days if days in SIMULATION_DAYS else DEFAULT_DAYS)
    if draft.policy is None:
        return await _show(request, user, page, draft, status=422)
    if intent == "publish" and simulated == draft.digest:
        try:
            async with database.transaction() as session:
                published = await publish_policy(
                    session, user.caller, draft.policy, based_on=lambda current: current == based_on
                )
        except PolicyMovedOn:
            # Based anew on the version in force: the form's changes go onto it, a YAML document stays as written.
            async with database.sessions() as session:
                version, policy, publication = await _in_force(session)
            page.moved_on = changes(base.model_dump(mode="json"), policy.model_dump(mode="json"))
            page.version, page.policy, page.publication, page.based_on = version, policy, publication, version
            if editor == "form":
                draft = from_form(base, settings, onto=policy)
            return await _reviewed(request, user, page, draft, status=409)
        return RedirectResponse(f"{PATH}/policy?editor={editor}&published={published}", status_code=303)
    # A draft changed since its simulation is simulated again before it can be published.
    page.review_first = intent == "publish"
    return await _reviewed(request, user, page, draft, simulate=intent != "check")


async def _reviewed(
    request: Request, user: ConsoleUser, page: PolicyPage, draft: Draft, simulate: bool = True, status: int = 200
) -> HTMLResponse:
    """The page with what a valid draft changes against the version in force, and its simulation."""
    if draft.policy is None:
        return await _show(request, user, page, draft, status=422)
    page.draft_changes = changes(page.policy.model_dump(mode="json"), draft.policy.model_dump(mode="json"))
    if simulate:
        since = datetime.now(UTC) - timedelta(days=page.days)
        async with request.app.state.database.sessions() as session:
            page.report = await simulate_candidate(session, draft.policy, since, None, SAMPLE_SIZE)
        page.simulated = draft.digest
    return await _show(request, user, page, draft, status)
