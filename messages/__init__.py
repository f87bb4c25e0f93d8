"""What workflows, activities, the worker and the API say to each other.

Payload models, typed activity references, search attributes and error types.
Workflow code imports only this package, ``domain/`` and ``temporalio``; so this
package imports nothing but pydantic, ``temporalio.common`` and ``domain/``.
"""
