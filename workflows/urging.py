"""A customer's urge, carried out by the workflow: priority high, the pending deadline closer, operators told.

The ``urge`` Update's validator refuses a return that has ended (409) and a second urge
within a day (``ErrorType.TOO_SOON`` with the seconds to wait: the API's 429 and
``Retry-After``); the workflow is the one that knows when it was last urged.
"""

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from domain import idempotency_keys as keys
    from domain.policy import Policy
    from domain.returns import FINAL_STATUSES, ReturnView
    from domain.urging import Urge, urge_wait
    from messages import late_returns as act
    from messages.errors import ErrorType
    from workflows.calls import partner_in_background
    from workflows.return_record import ReturnRecord
    from workflows.waiting import Waiting

# What the notifications partner's staff channel shows for an urge.
OPERATORS_URGED_TEMPLATE = "operators_return_urged"


class Urging:
    def __init__(self, record: ReturnRecord, waiting: Waiting, policy: Policy) -> None:
        self._record = record
        self._waiting = waiting
        self._policy = policy
        self._urges = 0

    def refusal(self) -> ApplicationError | None:
        """Why the return cannot be urged now, or None."""
        record = self._record
        if not record.opened or record.stage in FINAL_STATUSES:
            return ApplicationError(
                f"a return that is {record.stage.value} cannot be urged", type=ErrorType.STATUS_CONFLICT
            )
        wait = urge_wait(record.urged_at, workflow.now())
        if wait is not None:
            seconds = int(wait.total_seconds()) + 1
            return ApplicationError(
                "the return was urged less than a day ago; we are on it",
                {"code": "urged_recently", "message": f"urge again in {seconds} seconds"},
                seconds,
                type=ErrorType.TOO_SOON,
            )
        return None

    async def urge(self, urge: Urge) -> ReturnView:
        record, view = self._record, self._record.view
        self._urges += 1
        record.urged_at = workflow.now()
        view.priority = "high"
        record.show_priority()
        deadline = self._waiting.hurry(self._policy.urge_sla_factor)
        due = f"; now due by {deadline:%Y-%m-%d %H:%M} UTC" if deadline is not None else ""
        await record.note(f"urged by the {urge.by}{due}")
        partner_in_background(
            act.NOTIFY_OPERATORS,
            act.NotifyOperators(
                idempotency_key=keys.urge_notice_key(view.id, self._urges),
                return_id=view.id,
                template=OPERATORS_URGED_TEMPLATE,
                data={"status": view.status.value, "due_by": deadline.isoformat() if deadline else ""},
            ),
        )
        await record.flush()  # the saga may not wake for it (a return awaiting its parcel)
        return view
