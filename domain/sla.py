"""How long each wait of a return may last before a person is asked to look."""

from datetime import timedelta

# A parcel still travelling this long after pickup is escalated by its workflow.
TRANSIT_SLA = timedelta(days=30)
