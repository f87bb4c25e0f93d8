"""The return policy: read it, publish a new version, simulate a candidate.

``GET`` answers ``{"version", "policy"}`` with ``ETag: "<version>"``. ``PUT`` takes
the bare document or that same envelope (so what GET answered can be PUT back as
it is; the envelope's ``version`` is the one it was read at, informative only);
with ``If-Match`` it publishes only if the current version is the one named, else
412 and nothing changes (two editors never overwrite each other unknowingly).
"""

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Response
from pydantic import BaseModel, ConfigDict, Field, ModelWrapValidatorHandler, RootModel, model_validator

from api.auth import Caller, allow
from api.deps import Session
from api.policy_editing import PolicyMovedOn, publish_policy, simulate_candidate
from api.problems import Problem
from api.query import Timestamp
from domain.orders import StrictModel
from domain.policy import Policy
from domain.simulation import SimulationReport
from store import policies

router = APIRouter(prefix="/v1/policy", tags=["policy"])


class PolicyVersionOut(BaseModel):
    version: int
    policy: Policy


class PolicyEnvelope(StrictModel):
    """What ``GET /v1/policy`` answers, sent back: the version it was read at and the document."""

    version: int = Field(ge=1, description="The version the document was read at (If-Match is the precondition).")
    policy: Policy


def _one_of(schema: dict[str, Any]) -> None:
    schema["oneOf"] = schema.pop("anyOf")  # a body is one or the other, never both (both forbid unknown fields)


class PolicyUpload(RootModel[Policy | PolicyEnvelope]):
    """The body of ``PUT /v1/policy``: the policy document, or ``{"version", "policy"}`` as GET answers it."""

    model_config = ConfigDict(json_schema_extra=_one_of)

    @model_validator(mode="wrap")
    @classmethod
    def _document_or_envelope(cls, data: Any, _: ModelWrapValidatorHandler["PolicyUpload"]) -> "PolicyUpload":
        # A document has no "policy" field: with one, the body is the envelope (and its errors say policy.<field>).
        if isinstance(data, dict) and "policy" in data:
            return cls.model_construct(PolicyEnvelope.model_validate(data))
        return cls.model_construct(Policy.model_validate(data))

    @property
    def document(self) -> Policy:
        return self.root.policy if isinstance(self.root, PolicyEnvelope) else self.root


def etag(version: int) -> str:
    return f'"{version}"'


def matches(if_match: str, version: int) -> bool:
    """Does ``If-Match`` (a list of entity tags, or ``*``) name ``version``? Strong comparison (RFC 9110)."""
    return any(tag.strip() in ("*", etag(version)) for tag in if_match.split(","))


PRECONDITION_FAILED: dict[int | str, dict[str, Any]] = {
    412: {
        "description": "If-Match names another version than the current one; nothing was published",
        "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}},
    }
}


class SimulationRequest(StrictModel):
    policy: Policy
    created_from: Timestamp | None = Field(None, alias="from")
    created_to: Timestamp | None = Field(None, alias="to")
    sample_size: int = Field(10, ge=0, le=100)


@router.get("", response_model=PolicyVersionOut, dependencies=[Depends(allow("service", "operator"))])
async def get_policy(session: Session, response: Response) -> PolicyVersionOut:
    """The current version, with ``ETag: "<version>"`` (send it back as ``If-Match`` when publishing)."""
    version, policy = await policies.current_policy(session)
    response.headers["ETag"] = etag(version)
    return PolicyVersionOut(version=version, policy=policy)


@router.put("", response_model=PolicyVersionOut, responses=PRECONDITION_FAILED)
async def put_policy(
    body: PolicyUpload,
    session: Session,
    response: Response,
    caller: Annotated[Caller, Depends(allow("service"))],
    if_match: Annotated[
        str | None,
        Header(
            alias="If-Match",
            max_length=200,
            description='The ETag GET answered (`"<version>"`): publish only if that is still the current version.',
        ),
    ] = None,
) -> PolicyVersionOut:
    """Publish the document as the next version. Running returns keep the version they started with.

    With ``If-Match`` naming another version than the current one: 412, nothing changes.
    """
    try:
        version = await publish_policy(session, caller, body.document, based_on=_named_by(if_match))
    except PolicyMovedOn as moved:  # only ever with If-Match
        raise _stale(moved.current, str(if_match)) from None
    response.headers["ETag"] = etag(version)
    return PolicyVersionOut(version=version, policy=body.document)


def _named_by(if_match: str | None) -> Callable[[int], bool] | None:
    """The precondition ``If-Match`` sets: the current version must be one it names (none without it)."""
    if if_match is None:
        return None
    return lambda current: matches(if_match, current)


def _stale(current: int, if_match: str) -> Problem:
    return Problem(
        412,
        f"the policy is at version {current}, not {if_match}: fetch it, reapply the change and send "
        f"If-Match: {etag(current)}",
        headers={"ETag": etag(current)},
    )


@router.post("/simulate", response_model=SimulationReport, dependencies=[Depends(allow("service", "operator"))])
async def simulate_policy(body: SimulationRequest, session: Session) -> SimulationReport:
    """Judge the returns of a period under a candidate policy; nothing is written.

    Reports how many decisions change and how (``auto_approved→needs_review``,
    ``auto_approved→ineligible``, …), refund and fee totals before and after per
    currency, and a sample of the returns that change.
    """
    return await simulate_candidate(session, body.policy, body.created_from, body.created_to, body.sample_size)
