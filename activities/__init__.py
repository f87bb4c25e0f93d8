"""Every side effect of a return: read-model writes and partner calls.

``activities.messages`` holds the names and argument models the workflow needs;
it imports nothing heavy, so workflow code can import it. The implementations
(``read_model``, ``partners``) use SQLAlchemy and httpx and run only in the
worker.
"""
