"""The cost lines of `mediaflow run` (mediaflow/cli/costs.py): the arithmetic on a known input,
and the REPORT lines the durations come from."""

from __future__ import annotations

import pytest

from mediaflow.cli import costs
from mediaflow.cli.costs import Function, Upload

MIB = 1024**2


def image(transitions: int) -> Upload:
    return Upload(
        kind="image",
        transitions=transitions,
        invocations=("InspectFunction", "ThumbnailFunction"),
        rekognition_calls=1,
        write_units=8,
        s3_puts=2,
        s3_gets=4,
        derived_bytes=MIB,
    )


FUNCTIONS = {
    # 0.25 GB x 0.2 s = 0.05 GB-s, and 2 GB x 0.5 s = 1 GB-s, per request
    "InspectFunction": Function(memory_mb=256, arm64=True, billed_ms=200),
    "ThumbnailFunction": Function(memory_mb=2048, arm64=True, billed_ms=500),
}


def test_the_cost_of_1000_uploads_is_each_service_s_price_times_what_they_use() -> None:
    # Given two images of 8 and 10 transitions
    (cost,) = costs.per_thousand([image(8), image(10)], FUNCTIONS).values()

    assert cost.uploads == 2 and cost.transitions == 9
    assert cost.gb_seconds == pytest.approx(1050)
    assert cost.costs == pytest.approx(
        {
            "Step Functions": 9000 * 0.025 / 1000,  # $0.225
            "Lambda": 1050 * 0.0000133334 + 2000 * 0.20 / 1e6,  # arm64 GB-s and requests
            "Rekognition": 1000 * 0.001,
            "DynamoDB": 8000 * 0.625 / 1e6,
            "S3 requests": 2000 * 0.005 / 1000 + 4000 * 0.0004 / 1000,
            "S3 storage/month": 1000 / 1024 * 0.023,  # 1 MiB each, GB-month
        }
    )


def test_x86_functions_are_priced_at_x86_rates() -> None:
    x86 = {name: Function(f.memory_mb, False, f.billed_ms) for name, f in FUNCTIONS.items()}

    (cost,) = costs.per_thousand([image(8)], x86).values()

    assert cost.costs["Lambda"] == pytest.approx(1050 * 0.0000166667 + 2000 * 0.20 / 1e6)


def test_the_report_has_a_line_per_kind_after_a_heading_naming_region_and_date() -> None:
    audio = Upload("audio", 7, ("InspectFunction",), 0, 8, 2, 3, 0)

    lines = costs.report([image(8), image(10), audio], FUNCTIONS).strip().splitlines()

    assert "per 1,000 uploads" in lines[0] and "us-east-1" in lines[0]
    assert costs.PRICES_READ in lines[0]
    rows = {line.split()[0]: line.split() for line in lines[3:]}
    assert set(rows) == {"audio", "image"}
    assert rows["image"][1:3] == ["2", "9.0"]
    assert "$0.2250" in rows["image"] and "$1.0000" in rows["image"]
    assert rows["audio"][2] == "7.0" and "$0.1750" in rows["audio"]


def test_billed_durations_come_from_the_report_lines_of_each_function() -> None:
    log = (
        "ThumbnailFunction 1a2b3c4d START RequestId: r1 Version: $LATEST\n"
        "ThumbnailFunction 1a2b3c4d REPORT RequestId: r1\tDuration: 12.30 ms\tBilled Duration: "
        "13 ms\tMemory Size: 1769 MB\tMax Memory Used: 80 MB\tInit Duration: 900.00 ms\n"
        'InspectFunction 5e6f7a8b {"level":"INFO","message":"Billed Duration: 999 ms"}\n'
        "InspectFunction 5e6f7a8b REPORT RequestId: r2\tDuration: 40.01 ms\tBilled Duration: "
        "41 ms\tMemory Size: 256 MB\tMax Memory Used: 60 MB\n"
        "ThumbnailFunction 1a2b3c4d REPORT RequestId: r3\tDuration: 6.50 ms\tBilled Duration: "
        "7 ms\tMemory Size: 1769 MB\tMax Memory Used: 81 MB\n"
    )

    assert costs.billed_durations(log) == {"ThumbnailFunction": [13, 7], "InspectFunction": [41]}


def test_a_run_without_records_says_there_is_nothing_to_estimate() -> None:
    assert "nothing to estimate" in costs.report([], FUNCTIONS)
