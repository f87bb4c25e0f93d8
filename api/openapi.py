"""``/openapi.json`` says exactly what the API accepts, and how one answer leads to the next call.

Pydantic and FastAPI write most of the document; three things are added here:

- amounts: the bounds of an optional amount (``Amount | None = Field(ge=0, le=100)``) reach
  the schema as ``ge``/``le`` keys, which are not JSON Schema: they become the pattern
  (``domain.money.amount_pattern``), as the bounds of a plain amount field already do;
- NUL: every string a request may carry refuses U+0000 (``api/text_guard.py``), so every
  such string and map key without a pattern of its own gets ``^[^\\u0000]*$``;
- links: what a created resource's id may be used for next (OpenAPI links), so that a
  client, or a stateful fuzzer, can follow them.
"""

from typing import Any

from fastapi import FastAPI

from api.text_guard import UNGUARDED_PREFIXES
from domain.money import AMOUNT_PATTERN, amount_pattern

NUL_FREE = "^[^\\u0000]*$"
_BOUNDS = ("ge", "le", "gt", "lt")

# (method, path, status) of an answer → the links it offers: name → (method, path, parameters, request body).
LINKS: dict[tuple[str, str, str], dict[str, tuple[str, str, dict[str, str], Any]]] = {
    ("put", "/v1/orders/{order_id}", status): {
        "GetOrder": ("get", "/v1/orders/{order_id}", {"path.order_id": "$request.path.order_id"}, None),
        "PreviewReturnOfOrder": (
            "post",
            "/v1/returns/preview",
            {},
            {"order_id": "$request.path.order_id", "lines": [{"line_id": "$response.body#/lines/0/line_id"}]},
        ),
        "CreateReturnOfOrder": (
            "post",
            "/v1/returns",
            {},
            {
                "order_id": "$request.path.order_id",
                "lines": [{"line_id": "$response.body#/lines/0/line_id", "quantity": 1, "reason": "defective"}],
            },
        ),
        "ListReturnsOfOrder": ("get", "/v1/returns", {"query.order_id": "$request.path.order_id"}, None),
    }
    for status in ("200", "201")
}
# A read order leads where a synced one does, but for listing it again.
LINKS[("get", "/v1/orders/{order_id}", "200")] = {
    name: (method, path, parameters, body)
    for name, (method, path, parameters, body) in LINKS[("put", "/v1/orders/{order_id}", "200")].items()
    if name != "GetOrder"
}
_RETURN = {"path.return_id": "$response.body#/id"}
LINKS[("post", "/v1/returns", "201")] = {
    "GetReturn": ("get", "/v1/returns/{return_id}", _RETURN, None),
    "CancelReturn": ("post", "/v1/returns/{return_id}/cancel", _RETURN, None),
    "ReviewReturn": ("post", "/v1/returns/{return_id}/review", _RETURN, None),
    "InspectReturn": ("post", "/v1/returns/{return_id}/inspection", _RETURN, None),
    "UrgeReturn": ("post", "/v1/returns/{return_id}/urge", _RETURN, None),
    "DisputeReturn": ("post", "/v1/returns/{return_id}/dispute", _RETURN, None),
    "GetOrderOfReturn": ("get", "/v1/orders/{order_id}", {"path.order_id": "$response.body#/order_id"}, None),
}
for _action in ("cancel", "review", "inspection"):
    LINKS[("post", f"/v1/returns/{{return_id}}/{_action}", "200")] = {
        "GetReturn": ("get", "/v1/returns/{return_id}", {"path.return_id": "$request.path.return_id"}, None)
    }
LINKS[("post", "/v1/returns/{return_id}/dispute", "201")] = {
    "ResolveTicket": ("post", "/v1/tickets/{ticket_id}/resolve", {"path.ticket_id": "$response.body#/id"}, None)
}
LINKS[("post", "/v1/webhook-endpoints", "201")] = {
    "DeleteEndpoint": (
        "delete",
        "/v1/webhook-endpoints/{endpoint_id}",
        {"path.endpoint_id": "$response.body#/id"},
        None,
    ),
    "ListDeliveriesOfEndpoint": (
        "get",
        "/v1/webhook-deliveries",
        {"query.endpoint_id": "$response.body#/id"},
        None,
    ),
}


def install_openapi(app: FastAPI) -> None:
    """Refine the document ``app.openapi()`` makes (after ``api.problems.document_problems``)."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if getattr(app.state, "openapi_refined", False) and app.openapi_schema is not None:
            return app.openapi_schema
        document = generate()
        refine(document)
        app.state.openapi_refined = True
        return document

    app.openapi = openapi  # type: ignore[method-assign]


def refine(document: dict[str, Any]) -> None:
    _amount_bounds(document)
    _nul_free_requests(document)
    _links(document)


def _amount_bounds(node: Any) -> None:
    if isinstance(node, list):
        for item in node:
            _amount_bounds(item)
    if not isinstance(node, dict):
        return
    if node.get("pattern") == AMOUNT_PATTERN and any(key in node for key in _BOUNDS):
        if node.get("lt") is not None or node.get("gt") not in (None, 0):
            raise NotImplementedError(f"no wire pattern for amounts bounded by {node}")
        node["pattern"] = amount_pattern(node.get("ge"), node.get("le"), positive=node.get("gt") == 0)
        for key in _BOUNDS:
            node.pop(key, None)
    for value in node.values():
        _amount_bounds(value)


def _nul_free_requests(document: dict[str, Any]) -> None:
    components = document.get("components", {}).get("schemas", {})
    seen: set[str] = set()

    def visit(schema: Any) -> None:
        if not isinstance(schema, dict):
            return
        reference = schema.get("$ref")
        if isinstance(reference, str):
            name = reference.rsplit("/", 1)[-1]
            if name not in seen and name in components:
                seen.add(name)
                visit(components[name])
            return
        if schema.get("type") == "string" and not {"pattern", "enum", "const"} & schema.keys():
            schema["pattern"] = NUL_FREE
        additional = schema.get("additionalProperties")
        if schema.get("type") == "object" and additional is not False:  # absent: any other names allowed
            names = schema.setdefault("propertyNames", {})
            if "pattern" not in names:
                names["pattern"] = NUL_FREE
        for key in ("properties", "patternProperties", "$defs"):
            for child in schema.get(key, {}).values():
                visit(child)
        for key in ("items", "additionalProperties", "propertyNames", "not"):
            visit(schema.get(key))
        for key in ("anyOf", "oneOf", "allOf", "prefixItems"):
            for child in schema.get(key, []):
                visit(child)

    for path, operations in document.get("paths", {}).items():
        if path.startswith(UNGUARDED_PREFIXES):
            continue
        for operation in operations.values():
            for parameter in operation.get("parameters", []):
                if parameter.get("in") in ("path", "query"):
                    visit(parameter.get("schema"))
            for content in operation.get("requestBody", {}).get("content", {}).values():
                visit(content.get("schema"))


def _links(document: dict[str, Any]) -> None:
    paths = document.get("paths", {})
    for (method, path, status), links in LINKS.items():
        response = paths.get(path, {}).get(method, {}).get("responses", {}).get(status)
        if response is None:
            continue
        declared = response.setdefault("links", {})
        for name, (target_method, target_path, parameters, body) in links.items():
            target = paths.get(target_path, {}).get(target_method)
            if target is None:
                continue
            link: dict[str, Any] = {"operationId": target["operationId"]}
            if parameters:
                link["parameters"] = parameters
            if body is not None:
                link["requestBody"] = body
            declared[name] = link
