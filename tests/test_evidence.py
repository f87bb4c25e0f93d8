"""Evidence photos: uploaded, checked from their bytes, kept without location, erased on request; and the
checks that send a return whose photos look wrong to review, with the reason in words."""

import io
from datetime import timedelta

from PIL import Image

from bench.photo_set import EDITS, GPS_IFD, jpeg, textured_photo
from tests.api_client import Callers, bearer_client, customer_token, put_order
from tests.factories import NOW, order_body, return_body


async def upload(api: Callers, customer_id: str, content: bytes, name: str = "photo.jpg") -> dict:
    response = await api.service.post(
        "/v1/evidence", files={"file": (name, content, "image/jpeg")}, data={"customer_id": customer_id}
    )
    assert response.status_code == 201, response.text
    return response.json()


async def test_a_photo_is_kept_without_its_location_and_erased_with_the_customer(api: Callers) -> None:
    order = order_body()
    customer = order["customer_id"]
    taken = NOW - timedelta(days=1)
    stored = await upload(api, customer, jpeg(textured_photo(1), taken_at=taken, gps=True))

    assert stored["id"].startswith("ev_") and (stored["width"], stored["height"]) == (640, 480)
    assert len(stored["sha256"]) == 64
    kept = (api.settings.evidence_folder / stored["id"]).read_bytes()
    exif = Image.open(io.BytesIO(kept)).getexif()
    assert not exif.get_ifd(GPS_IFD), "the location is removed from what is kept"

    # A customer uploads for itself; a return line names the photo by its id.
    async with bearer_client(api, await customer_token(api, customer)) as as_customer:
        mine = await as_customer.post("/v1/evidence", files={"file": ("x.png", _png(), "image/png")})
        assert mine.status_code == 201, mine.text
        order_id = await put_order(api, customer_id=customer)
        preview = await as_customer.post(
            "/v1/returns/preview",
            json=return_body(
                order_id=order_id,
                lines=[{"line_id": "L1", "quantity": 1, "reason": "damaged", "evidence": [stored["id"]]}],
            ),
        )
        assert preview.status_code == 200, preview.text

    erased = await api.service.delete(f"/v1/customers/{customer}/personal-data")
    assert erased.status_code == 200, erased.text
    assert erased.json()["evidence_removed"] == 2
    assert not (api.settings.evidence_folder / stored["id"]).exists()


async def test_what_is_not_an_accepted_image_is_refused_from_its_bytes(api: Callers) -> None:
    customer = order_body()["customer_id"]
    for content, name in ((b"%PDF-1.7 not a photo", "photo.jpg"), (_gif(), "photo.jpg"), (b"", "empty.jpg")):
        response = await api.service.post(
            "/v1/evidence", files={"file": (name, content, "image/jpeg")}, data={"customer_id": customer}
        )
        assert response.status_code == 415, response.text
        assert response.headers["content-type"] == "application/problem+json"
    no_owner = await api.service.post("/v1/evidence", files={"file": ("a.jpg", jpeg(textured_photo(2)), "image/jpeg")})
    assert no_owner.status_code == 422, no_owner.text
    assert (await api.operator.post("/v1/evidence", files={"file": ("a.png", _png(), "image/png")})).status_code == 403


async def test_an_upload_over_the_limits_is_refused(api: Callers) -> None:
    customer = order_body()["customer_id"]
    too_big = b"\xff\xd8" + b"0" * (api.settings.evidence_max_bytes + 10)
    response = await api.service.post(
        "/v1/evidence", files={"file": ("big.jpg", too_big, "image/jpeg")}, data={"customer_id": customer}
    )
    assert response.status_code == 413, response.text
    # A small file that would decode to more pixels than allowed (a decompression bomb).
    bomb = io.BytesIO()
    Image.new("1", (9000, 9000)).save(bomb, format="PNG")
    assert len(bomb.getvalue()) < 100_000
    response = await api.service.post(
        "/v1/evidence", files={"file": ("bomb.png", bomb.getvalue(), "image/png")}, data={"customer_id": customer}
    )
    assert response.status_code == 413, response.text
    assert "pixels" in response.json()["detail"]


async def test_an_unknown_or_another_customers_photo_is_refused_on_the_line(api: Callers) -> None:
    someone_else = await upload(api, "C-else", jpeg(textured_photo(3)))
    order_id = await put_order(api)
    for evidence_id in (someone_else["id"], "ev_00000000000000000000"):
        response = await api.service.post(
            "/v1/returns/preview",
            json=return_body(
                order_id=order_id,
                lines=[{"line_id": "L1", "quantity": 1, "reason": "damaged", "evidence": [evidence_id]}],
            ),
        )
        assert response.status_code == 422, response.text
        assert response.json()["errors"][0]["code"] == "unknown_evidence"


async def test_a_photo_already_used_on_another_customers_return_waits_for_review(api: Callers) -> None:
    photo = textured_photo(4)
    first_order = order_body()
    first_order_id = await put_order(api, customer_id=first_order["customer_id"])
    original = await upload(api, first_order["customer_id"], jpeg(photo))
    first = await api.service.post(
        "/v1/returns",
        json=return_body(
            order_id=first_order_id,
            lines=[{"line_id": "L1", "quantity": 1, "reason": "damaged", "evidence": [original["id"]]}],
        ),
    )
    assert first.status_code == 201, first.text
    assert first.json()["decision"]["outcome"] == "auto_approved"

    # Another customer sends the same photo, resized and recompressed.
    second_order = order_body()
    second_order_id = await put_order(api, customer_id=second_order["customer_id"])
    copy = await upload(api, second_order["customer_id"], jpeg(EDITS["resized"](photo), quality=60))
    line = {"line_id": "L1", "quantity": 1, "reason": "damaged", "evidence": [copy["id"]]}
    second = await api.service.post("/v1/returns", json=return_body(order_id=second_order_id, lines=[line]))

    assert second.status_code == 201, second.text
    decision = second.json()["decision"]
    assert decision["outcome"] == "needs_review" and second.json()["status"] == "under_review"
    assert decision["risk"] == "high"
    said = " ".join(decision["risk_reasons"])
    assert "the same as a photo another customer sent" in said
    assert f"already used on another return ({first.json()['id']})" in said
    audit = (await api.service.get(f"/v1/returns/{second.json()['id']}/audit")).json()["items"]
    created = next(item for item in audit if item["action"] == "return.create")
    assert any("another customer" in reason for reason in created["details"]["risk_reasons"])


async def test_a_photo_taken_before_delivery_or_too_small_is_flagged(api: Callers) -> None:
    order = order_body()
    order_id = await put_order(api, customer_id=order["customer_id"])
    early = await upload(api, order["customer_id"], jpeg(textured_photo(5), taken_at=NOW - timedelta(days=30)))
    tiny = await upload(api, order["customer_id"], jpeg(textured_photo(6, size=(120, 90))))
    line = {"line_id": "L1", "quantity": 1, "reason": "damaged", "evidence": [early["id"], tiny["id"]]}
    preview = await api.service.post("/v1/returns/preview", json=return_body(order_id=order_id, lines=[line]))

    assert preview.status_code == 200, preview.text
    assert preview.json()["outcome"] == "needs_review"
    reasons = preview.json()["risk_reasons"]
    assert any("taken on" in r and "before the order was delivered" in r for r in reasons), reasons
    assert any("too small to show anything (120×90 pixels)" in r for r in reasons), reasons


def _png() -> bytes:
    out = io.BytesIO()
    textured_photo(7, size=(320, 240)).save(out, format="PNG")
    return out.getvalue()


def _gif() -> bytes:
    out = io.BytesIO()
    textured_photo(8, size=(64, 48)).save(out, format="GIF")
    return out.getvalue()
