"""A burst of uploads through the embedded local cloud: every object ends in exactly one
terminal record, duplicates are absorbed, and nothing lands in the dead-letter queue.
"""

from __future__ import annotations

import os
import random
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest

from mediaflow.localcloud import LocalCloud
from mediaflow.operations.stack import media_id
from tests.workflow.conftest import CLOCK_FACTOR, photo_jpeg, tone_wav

ROOT = Path(__file__).resolve().parents[2]
# MEDIAFLOW_LOAD_UPLOADS=50 makes a quick local run; CI and `make test` use 500.
UPLOADS = int(os.environ.get("MEDIAFLOW_LOAD_UPLOADS", "500"))
DUPLICATE_SHARE = 0.10
HOSTILE_SHARE = 0.05


def hostile_files() -> list[tuple[str, bytes]]:
    jpeg, wav = photo_jpeg(320, 240), tone_wav(0.5, 16_000)
    return [
        ("empty.jpg", b""),
        ("truncated.jpg", jpeg[: len(jpeg) // 4]),
        ("truncated.wav", wav[:60]),
        ("random.bin", random.Random(5).randbytes(4096)),
        ("script.jpg", b"#!/bin/sh\nrm -rf /\n" * 50),
    ]


@pytest.mark.slow
def test_a_burst_of_uploads_ends_in_one_terminal_record_each(
    record_property: Callable[[str, object], None],
) -> None:
    rng = random.Random(42)
    image, audio, hostile = photo_jpeg(200, 150), tone_wav(0.25, 16_000), hostile_files()
    uploads: dict[str, str] = {}  # key -> expected kind
    for number in range(UPLOADS):
        device = f"device-{number % 25}"
        if number % round(1 / HOSTILE_SHARE) == 0:
            name, _ = hostile[number % len(hostile)]
            uploads[f"uploads/{device}/{number}-{name}"] = "hostile"
        elif number % 3 == 0:
            uploads[f"uploads/{device}/{number}.wav"] = "audio"
        else:
            uploads[f"uploads/{device}/{number}.jpg"] = "image"
    contents = {"image": image, "audio": audio}

    with LocalCloud(ROOT, clock_factor=CLOCK_FACTOR, max_concurrent_executions=8) as cloud:
        started = time.monotonic()
        cloud.hold_deliveries()
        for key, kind in uploads.items():
            data = dict(hostile)[key.split("-", 2)[-1]] if kind == "hostile" else contents[kind]
            cloud.upload(data, key)
        events = cloud.hold_deliveries()
        duplicates = rng.sample(events, round(len(events) * DUPLICATE_SHARE))
        deliveries = events + duplicates
        rng.shuffle(deliveries)
        for event in deliveries:
            cloud.deliver(event)
        cloud.wait_until_settled(timeout=900)
        elapsed = time.monotonic() - started

        records = {record["mediaId"]: record for record in cloud.records()}
        thumbnails = {version["Key"] for version in cloud.object_versions("thumbnails/")}
        dlq = cloud.queue_messages(cloud.dlq_url)
        executions = Counter(execution["status"] for execution in cloud.executions())

    assert len(records) == UPLOADS
    statuses = Counter(records[media_id(cloud.bucket, key)]["status"] for key in uploads)
    for key, kind in uploads.items():
        record = records[media_id(cloud.bucket, key)]
        expected = "REJECTED" if kind == "hostile" else "PROCESSED"
        assert record["status"] == expected, (key, record.get("reason"), record.get("error"))
        if kind == "image":
            assert record["image"]["thumbnailKey"] in thumbnails
    assert dlq == []
    assert executions == {"SUCCEEDED": len(deliveries)}
    # Shown at the end of the run (tests/conftest.py), also when the tests run in parallel.
    record_property(
        "summary",
        f"load: {UPLOADS} uploads, {len(duplicates)} delivered twice, in {elapsed:.1f} s "
        f"= {UPLOADS / elapsed:.1f} files/s; records {dict(statuses)}; "
        f"executions {dict(executions)}; DLQ messages {len(dlq)}",
    )
