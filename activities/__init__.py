"""Every side effect of a return: read-model writes and partner calls.

``messages/`` holds the typed references and argument models the workflows
call; the implementations here use SQLAlchemy and httpx and run only in the
worker, registered under each reference's name.
"""
