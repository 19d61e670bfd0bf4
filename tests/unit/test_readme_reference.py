"""The README's reference tables cannot drift from what they describe: "Formats accepted" is the
format registry (mediakit.media_types and Inspect's FORMATS) with the template's limits, and
"Sample events" names, for every file in events/, what really accepts it."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from inspector.sniffing import FORMATS
from mediakit.media_types import MEDIA_TYPES
from moto.events.models import EventPattern
from PIL import Image

from mediaflow.localcloud import provision
from mediaflow.localcloud.template import Stack
from tests.conftest import EVENTS, FUNCTIONS, ROOT, FakeLambdaContext, handler_module

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

README = ROOT / "README.md"
STACK = Stack(ROOT)
WORKFLOW = "IngestStateMachine"
# What each kind of media is held to, by template parameter (Inspect's limits).
LIMITS = {
    "image": ("MaxImageBytes", "MaxImagePixels"),
    "audio": ("MaxAudioBytes", "MaxAudioSeconds", "MaxAudioSamples"),
}


def readme_table(section: str) -> list[list[str]]:
    """The rows of the first table under the README heading `section` (header row left out)."""
    text = README.read_text()
    match = re.search(rf"^##+ {re.escape(section)}\n(.*?)(?=^## )", text, re.M | re.S)
    assert match, f"README.md has no section '{section}'"
    table = re.search(r"^\|.*?(?=^[^|]|\Z)", match.group(1), re.M | re.S)
    assert table, f"README.md's section '{section}' has no table"
    lines = table.group(0).splitlines()
    return [[cell.strip() for cell in line.strip("|").split("|")] for line in lines[2:]]


def limit_cell(kind: str) -> str:
    def default(name: str) -> str:
        value = int(STACK.parameters[name])
        mib = value / 2**20
        return f"`{name}` ({mib:g} MiB)" if name.endswith("Bytes") else f"`{name}` ({value})"

    return ", ".join(default(name) for name in LIMITS[kind])


def expected_formats_rows() -> list[list[str]]:
    """The registry as the README shows it: images first, each kind in the registry's order."""
    ordered = sorted(FORMATS, key=lambda entry: list(LIMITS).index(entry.kind))
    return [
        [
            entry.label,
            f"`{entry.name}`",
            f"`{entry.content_type}`",
            entry.kind,
            f"`{MEDIA_TYPES[entry.content_type].extension}`",
            limit_cell(entry.kind),
        ]
        for entry in ordered
    ]


def test_the_readme_lists_every_accepted_format_as_the_registry_has_it() -> None:
    expected = expected_formats_rows()
    rows = readme_table("Formats accepted")

    assert rows == expected, "README.md's table should read:\n" + "\n".join(
        "| " + " | ".join(row) + " |" for row in expected
    )


def events_table() -> dict[str, str]:
    """README's "Sample events": each file and the logical ID of what it goes with."""
    rows = readme_table("Sample events")
    return {
        re.fullmatch(r"`events/([^`]+)`", row[0]).group(1): re.match(r"`(\w+)`", row[1]).group(1)  # type: ignore[union-attr]
        for row in rows
    }


def test_every_sample_event_is_in_the_readme_once_with_what_takes_it() -> None:
    table = events_table()

    assert sorted(table) == sorted(path.name for path in EVENTS.glob("*.json"))
    assert set(table.values()) <= {*FUNCTIONS, WORKFLOW}


@pytest.mark.parametrize("name", sorted(path.name for path in EVENTS.glob("*.json")))
def test_each_sample_event_is_accepted_by_what_the_readme_says_it_goes_with(
    name: str, s3: S3Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    event = json.loads((EVENTS / name).read_text())
    target = events_table().get(name)
    assert target, f"README.md's Sample events does not name {name}"
    if target == WORKFLOW:
        # The rule SAM makes from the state machine's EventBridgeRule event matches it: it is
        # what starts an execution, as its input.
        rule = STACK.state_machine(WORKFLOW).rule
        assert rule is not None
        assert EventPattern.load(json.dumps(rule.pattern)).matches_event(event)
        return
    # Given the function's environment from the template, and the object its event names,
    # seeded from samples/ as `mediaflow invoke` seeds it
    for variable, value in FUNCTIONS[target].environment.items():
        monkeypatch.setenv(variable, value)
    # Importing a handler may set Pillow's pixel limit, which is put back after the test.
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", Image.MAX_IMAGE_PIXELS)
    for bucket, key, version in objects_named_in(event):
        provision.seed_sample(s3, bucket, key, version, ROOT / "samples")

    # When the function handles it
    answer = handler_module(target).lambda_handler(event, FakeLambdaContext())

    # Then it answers, without an error
    assert isinstance(answer, dict) and answer, answer


def objects_named_in(event: dict[str, Any]) -> list[tuple[str, str, str]]:
    """The S3 object a sample event points at: in an EventBridge event (Inspect's input holds
    one) or in a task payload."""
    inner = event.get("event", event)
    if "detail" in inner:
        obj = inner["detail"]["object"]
        return [(inner["detail"]["bucket"]["name"], obj["key"], obj.get("version-id", ""))]
    return [(event["bucket"], event["key"], event.get("versionId", ""))]


def test_the_samples_the_events_name_exist() -> None:
    for path in EVENTS.glob("*.json"):
        for _, key, _ in objects_named_in(json.loads(path.read_text())):
            assert (ROOT / "samples" / Path(key).name).is_file(), (path.name, key)
