"""Activities that write the read model and hold or release returnable units."""

from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.messages import (
    NOT_RETURNABLE,
    OPEN_RETURN,
    RELEASE_UNITS,
    SAVE_RETURN,
    OpenReturn,
    ReturnRef,
    SnapshotOfReturn,
)
from store import returns
from store.db import Database


class ReadModelActivities:
    def __init__(self, database: Database):
        self._database = database

    @activity.defn(name=OPEN_RETURN)
    async def open_return(self, opening: OpenReturn) -> None:
        """Claim the returned units and write the first row; all or nothing."""
        try:
            async with self._database.transaction() as session:
                await returns.claim_units(session, opening.view.id, opening.view.order_id, opening.units)
                await returns.save_return(session, opening.view, opening.revision, request=opening.request)
        except returns.NotReturnable as refusal:
            detail = {"line_id": refusal.line_id, "code": "quantity_exceeds_returnable", "message": str(refusal)}
            raise ApplicationError(str(refusal), detail, type=NOT_RETURNABLE, non_retryable=True) from None

    @activity.defn(name=SAVE_RETURN)
    async def save_return(self, snapshot: SnapshotOfReturn) -> None:
        async with self._database.transaction() as session:
            await returns.save_return(session, snapshot.view, snapshot.revision)

    @activity.defn(name=RELEASE_UNITS)
    async def release_units(self, ref: ReturnRef) -> None:
        async with self._database.transaction() as session:
            await returns.release_units(session, ref.return_id)

    def all(self) -> list:
        return [self.open_return, self.save_return, self.release_units]
