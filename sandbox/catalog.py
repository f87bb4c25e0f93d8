"""Sandbox order-system catalog: products and their variants (sku, product, price, in stock).

A few products are there from the start (the ones the demos and tests order); ``PUT /catalog/variants/{sku}``
adds or changes one. Whether a variant is in stock is read from the warehouse shelf (``/warehouse/stock``).
"""

from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from sandbox.common import get_faults, get_store
from sandbox.errors import not_found
from sandbox.payments import parse_amount

TABLE = "variants"
router = APIRouter(prefix="/catalog", tags=["catalog"])

# sku → (product_id, price)
DEFAULT_VARIANTS: dict[str, tuple[str, str]] = {
    **{f"TEE-{colour}-{size}": ("TEE", "19.99") for colour in ("RED", "BLUE") for size in ("S", "M", "L", "XL")},
    "TEE-NEVER-STOCKED": ("TEE", "19.99"),
    "TEE-BASIC-L": ("TEE", "14.99"),
    "TEE-PREMIUM-L": ("TEE", "24.99"),
    "MUG-01": ("MUG", "12.50"),
    "MUG-02": ("MUG", "12.50"),
}


class VariantIn(BaseModel):
    product_id: str = Field(min_length=1, max_length=128)
    price: str = Field(min_length=1, max_length=32, description='A decimal string, "19.99".')
    currency: str = Field("USD", pattern=r"^[A-Z]{3}$")


def _variant(request: Request, sku: str) -> dict[str, Any] | None:
    store = get_store(request)
    stored = store.get(TABLE, sku)
    if stored is None and sku in DEFAULT_VARIANTS:
        product_id, price = DEFAULT_VARIANTS[sku]
        stored = {"sku": sku, "product_id": product_id, "price": price, "currency": "USD"}
    if stored is None:
        return None
    return {**stored, "in_stock": store.stock().get(sku, 0) > 0}


@router.get("/variants/{sku}")
async def get_variant(sku: str, request: Request) -> dict[str, Any]:
    await get_faults(request).apply("catalog.get_variant")
    variant = _variant(request, sku)
    if variant is None:
        raise not_found(f"variant {sku!r}")
    return variant


@router.put("/variants/{sku}")
async def put_variant(sku: str, body: VariantIn, request: Request) -> dict[str, Any]:
    """Add or change a variant (for demos and tests)."""
    price = parse_amount(body.price, body.currency)
    record = {"sku": sku, "product_id": body.product_id, "price": format(price, "f"), "currency": body.currency}
    store = get_store(request)
    with store.transaction():
        if store.get(TABLE, sku) is None:
            store.insert(TABLE, sku, {**record, "reference": body.product_id})
        else:
            store.update(TABLE, sku, {**record, "reference": body.product_id})
    variant = _variant(request, sku)
    assert variant is not None
    return variant


@router.get("/products/{product_id}")
async def get_product(product_id: str, request: Request) -> dict[str, Any]:
    """A product and its variants."""
    skus = {sku for sku, (product, _) in DEFAULT_VARIANTS.items() if product == product_id}
    skus |= {record["sku"] for record in get_store(request).records(TABLE, product_id)}
    variants = [v for sku in sorted(skus) if (v := _variant(request, sku)) and v["product_id"] == product_id]
    if not variants:
        raise not_found(f"product {product_id!r}")
    return {"product_id": product_id, "variants": variants}
