"""Order-system catalog connector: look up a variant (its product, price and whether it is in stock) by sku."""

from typing import Protocol
from urllib.parse import quote

import httpx

from connectors.errors import PartnerRejected
from connectors.http import PartnerHttp, parse_result
from domain.exchanges import Variant


class Catalog(Protocol):
    async def variant(self, sku: str) -> Variant | None:
        """The variant, or None when the catalog has no such sku; ``PartnerUnavailable`` when it cannot answer."""
        ...


class HttpCatalog:
    """``GET {base}/catalog/variants/{sku}`` (404: no such sku)."""

    def __init__(self, client: httpx.AsyncClient, base_url: str) -> None:
        self._http = PartnerHttp("catalog", client, base_url)

    async def variant(self, sku: str) -> Variant | None:
        try:
            body = await self._http.call("GET", f"/catalog/variants/{quote(sku, safe='')}")
        except PartnerRejected as refusal:
            if refusal.status == 404:
                return None
            raise
        return parse_result("catalog", Variant, body)


async def look_up(catalog: Catalog, skus: list[str]) -> dict[str, Variant]:
    """The variants of ``skus`` that the catalog knows (each asked once)."""
    found: dict[str, Variant] = {}
    for sku in sorted(set(skus)):
        variant = await catalog.variant(sku)
        if variant is not None:
            found[sku] = variant
    return found
