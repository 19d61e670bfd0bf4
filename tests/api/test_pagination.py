"""GET /media a page at a time, as a device and an operator page through a history: newest first,
every item once, filters kept across pages, and cursors that only their own listing takes."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from mediaflow.localcloud import LocalCloud
from tests.api.conftest import Device, api_error, photo, post_form, tone_wav


@dataclass
class History:
    device: Device
    neighbour: Device
    operator: Device
    processed: dict[str, str]
    """mediaId -> kind of the uploads the workflow processed."""
    waiting: set[str]
    """The uploads started and never sent: still UPLOADING."""

    @property
    def every(self) -> set[str]:
        return set(self.processed) | self.waiting


@pytest.fixture(scope="module")
def history(cloud: LocalCloud, new_device: Callable[..., Device]) -> History:
    """Seven media of one device (two photos and a recording processed, four uploads never
    sent), one of a neighbour, and an operator."""
    device, neighbour = new_device("pager"), new_device("neighbour")
    operator = new_device("operator", operator=True)
    processed = {}
    for data, content_type, kind in [
        (photo(seed=11), "image/jpeg", "image"),
        (tone_wav(0.5), "audio/wav", "audio"),
        (photo(seed=12), "image/jpeg", "image"),
    ]:
        created = device.start_upload(data, content_type)
        assert post_form(created["upload"], data).status_code == 204
        processed[created["mediaId"]] = kind
    waiting = {device.start_upload(photo(seed=n), "image/jpeg")["mediaId"] for n in range(4)}
    neighbour.start_upload(photo(), "image/jpeg")
    cloud.wait_until_settled()
    return History(device, neighbour, operator, processed, waiting)


def pages(caller: Device, query: dict[str, Any]) -> list[list[dict[str, Any]]]:
    """Every page of a listing, following its cursors."""
    found: list[list[dict[str, Any]]] = []
    params = dict(query)
    while True:
        response = caller.get("/media", params=params)
        assert response.status_code == 200, response.text
        page = response.json()
        found.append(page["items"])
        if "cursor" not in page:
            return found
        assert len(found) < 50, "the cursors never end"
        params = {**query, "cursor": page["cursor"]}


def first_cursor(caller: Device, query: dict[str, Any]) -> str:
    cursor: str = caller.get("/media", params=query).json()["cursor"]
    return cursor


def flat(found: list[list[dict[str, Any]]]) -> list[dict[str, Any]]:
    return [item for page in found for item in page]


def test_a_device_pages_through_its_media_newest_first_each_once(history: History) -> None:
    found = pages(history.device, {"limit": 2})

    items = flat(found)
    assert len(found) >= 4 and all(len(page) <= 2 for page in found)
    ids = [item["mediaId"] for item in items]
    assert len(ids) == len(set(ids)), "an item on two pages"
    assert set(ids) == history.every, "an item on no page"
    uploaded = [item["uploadedAt"] for item in items]
    assert uploaded == sorted(uploaded, reverse=True)
    assert {item["deviceId"] for item in items} == {history.device.name}
    statuses = {item["mediaId"]: item["status"] for item in items}
    assert all(statuses[media_id] == "PROCESSED" for media_id in history.processed)
    assert all(statuses[media_id] == "UPLOADING" for media_id in history.waiting)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"status": "PROCESSED"}, lambda h: set(h.processed)),
        ({"status": "UPLOADING"}, lambda h: h.waiting),
        ({"kind": "audio"}, lambda h: {m for m, k in h.processed.items() if k == "audio"}),
        (
            {"kind": "image", "status": "PROCESSED"},
            lambda h: {m for m, k in h.processed.items() if k == "image"},
        ),
        ({"status": "FAILED"}, lambda h: set()),
    ],
    ids=["processed", "uploading", "audio", "processed images", "failed"],
)
def test_filters_hold_on_every_page(
    history: History, query: dict[str, str], expected: Callable[[History], set[str]]
) -> None:
    items = flat(pages(history.device, {**query, "limit": 1}))

    ids = [item["mediaId"] for item in items]
    assert len(ids) == len(set(ids))
    assert set(ids) == expected(history)
    for name, value in query.items():
        assert all(item[name] == value for item in items)


def test_a_device_sees_only_its_own_and_an_operator_any_devices(history: History) -> None:
    neighbours = flat(pages(history.neighbour, {"limit": 2}))
    as_operator = flat(pages(history.operator, {"limit": 3, "device": history.device.name}))

    assert [item["deviceId"] for item in neighbours] == [history.neighbour.name]
    assert {item["mediaId"] for item in as_operator} == history.every
    assert len(as_operator) == len(history.every)
    some = next(iter(history.processed))
    assert history.operator.get(f"/media/{some}").json()["deviceId"] == history.device.name


def test_a_device_naming_a_device_even_itself_is_403(history: History) -> None:
    for name in (history.neighbour.name, history.device.name):
        error = api_error(history.device.get("/media", params={"device": name}), 403, "Forbidden")
        assert error["field"] == "device"


def test_a_tampered_foreign_or_misused_cursor_is_400_invalid_cursor(history: History) -> None:
    device, neighbour, operator = history.device, history.neighbour, history.operator
    cursor = first_cursor(device, {"limit": 2})
    body, _, signature = cursor.partition(".")
    flipped = body[:-1] + ("A" if body[-1] != "A" else "B")
    operators = first_cursor(operator, {"limit": 2, "device": device.name})

    for caller, query in [
        (device, {"limit": 2, "cursor": f"{flipped}.{signature}"}),
        (device, {"limit": 2, "cursor": f"{body}.{signature[:-2]}"}),
        (device, {"limit": 2, "cursor": "not-a-cursor"}),
        (device, {"limit": 2, "cursor": "é.é"}),
        # Another device's cursor, or the operator's for this device, is not this listing's.
        (neighbour, {"limit": 2, "cursor": cursor}),
        (device, {"limit": 2, "cursor": operators}),
        # The same caller with other filters.
        (device, {"limit": 2, "status": "PROCESSED", "cursor": cursor}),
        (operator, {"limit": 2, "device": neighbour.name, "cursor": operators}),
    ]:
        error = api_error(caller.get("/media", params=query), 400, "InvalidCursor")
        assert error["field"] == "cursor"
    # The cursor itself still works where it belongs.
    assert device.get("/media", params={"limit": 2, "cursor": cursor}).status_code == 200
