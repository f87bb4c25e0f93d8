"""The queries ReturnWorkflow answers, by name, for callers that do not import the workflow (activities).

``handle.query(VIEW_QUERY, result_type=ReturnView)``: the return as its workflow
sees it now, or None before its first decision.
"""

VIEW_QUERY = "view"
