"""The undo steps of a return's saga, named once: the workflow registers them, notes and tickets name them."""

from enum import StrEnum


class CompensationStep(StrEnum):
    RELEASE_UNITS = "release_units"
    CANCEL_SHIPMENT = "cancel_shipment"
    RELEASE_REPLACEMENT = "release_replacement"
    CAPTURE_HOLD = "capture_hold"

    @property
    def description(self) -> str:
        """What the step does, as a person reads it in the timeline ("could not …")."""
        return _DESCRIPTIONS[self]


_DESCRIPTIONS = {
    CompensationStep.RELEASE_UNITS: "release the held units",
    CompensationStep.CANCEL_SHIPMENT: "cancel the shipment",
    CompensationStep.RELEASE_REPLACEMENT: "release the replacement",
    CompensationStep.CAPTURE_HOLD: "capture the instant exchange's hold",
}
