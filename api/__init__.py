"""The REST API: authenticate, validate, start or message a workflow, read the read model.

No business rule lives here; rules are in ``domain`` and the workflows.
"""
