"""Undoing a stopped return, with a person's help when an undo step fails (never only a timeline note)."""

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from domain import tickets
    from domain.attention import actions_for
    from domain.compensations import CompensationStep
    from messages import return_activities as act
    from workflows import shapes
    from workflows.attention import ATTENTION_PATCH, Attentions
    from workflows.calls import store
    from workflows.return_record import ReturnRecord
    from workflows.saga import Compensations


async def undo(compensations: Compensations, record: ReturnRecord, attentions: Attentions, ask_person: bool) -> None:
    """Run the compensations in reverse. When some fail, a person is asked to retry them or to undo them by
    hand, and the return waits; when the workflow itself was cancelled (nobody can answer it any more), a
    ticket says what is left to undo."""

    def noted(step: CompensationStep) -> None:
        record.note_unsaved(f"could not {step.description}")

    await compensations.run(noted)
    if not compensations.failed or not shapes.patched(ATTENTION_PATCH):
        return
    view = record.view
    if not ask_person:
        ticket = act.OpenTicket(
            dedupe_key=tickets.compensation_failed_key(view.id),
            kind="compensation_failed",
            return_id=view.id,
            summary=_what_failed(compensations),
        )
        await store(act.OPEN_TICKET, ticket)
        return
    await attentions.raise_("compensation_failed", _what_failed(compensations), actions_for("compensation_failed"))
    while True:
        resolution = await attentions.decision()
        if resolution.action == "mark_compensated":
            compensations.forget()
        else:
            await compensations.run(noted)
        if not compensations.failed:
            await attentions.clear(resolution.action + (f": {resolution.note}" if resolution.note else ""))
            attentions.acknowledge()
            return
        await attentions.renote(_what_failed(compensations))
        attentions.acknowledge()


def _what_failed(compensations: Compensations) -> str:
    return "could not " + ", ".join(step.description for step in compensations.failed)
