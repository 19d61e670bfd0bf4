"""Waiting for the workflow: GET /media/{mediaId} for every upload still in progress, rounds
apart with back-off (a quarter of a second at first, growing to a few seconds), until each is
PROCESSED, REJECTED or FAILED, or the timeout passes."""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from mediaflow.device_client.api_client import DeviceApi
from mediaflow.device_client.errors import ApiError, DeviceClientError

TERMINAL = frozenset({"PROCESSED", "REJECTED", "FAILED"})
GONE = "NOT FOUND"
"""What a media the API no longer shows ends as (deleted meanwhile): 404, never terminal."""


def wait_for_records(
    api: DeviceApi,
    media_ids: list[str],
    *,
    timeout: float,
    on_record: Callable[[str, dict[str, Any]], None],
    workers: int = 4,
    first_delay: float = 0.25,
    max_delay: float = 3.0,
) -> dict[str, dict[str, Any]]:
    """The last record seen of each media; `on_record` hears each one that ends, as it ends. A
    media still in progress at the timeout keeps its last status (or an `error` saying why it
    could not be read)."""
    deadline = time.monotonic() + timeout
    last: dict[str, dict[str, Any]] = {media_id: {"status": "UPLOADING"} for media_id in media_ids}
    pending = list(dict.fromkeys(media_ids))
    delay = first_delay
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        while pending:
            for media_id, record in zip(
                pending, pool.map(lambda m: _read(api, m), pending), strict=True
            ):
                last[media_id] = record
                if record.get("status") in TERMINAL or record.get("status") == GONE:
                    on_record(media_id, record)
            pending = [m for m in pending if last[m].get("status") not in TERMINAL | {GONE}]
            if not pending or time.monotonic() + delay > deadline:
                break
            time.sleep(delay)
            delay = min(max_delay, delay * 1.6)
    return last


def _read(api: DeviceApi, media_id: str) -> dict[str, Any]:
    try:
        return api.media(media_id)
    except ApiError as error:
        if error.status == 404:
            return {"mediaId": media_id, "status": GONE}
        return {"mediaId": media_id, "status": "UNKNOWN", "error": str(error)}
    except DeviceClientError as error:
        # Network trouble while waiting is not the upload's fault: try again next round.
        return {"mediaId": media_id, "status": "UNKNOWN", "error": str(error)}
