"""docs/contracts.md against the workflow: the field names a reader finds in the contract are the
ones statemachines/ingest.asl.json passes between states and writes into the record."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import ROOT

CONTRACTS = ROOT / "docs" / "contracts.md"
WORKFLOW = ROOT / "statemachines" / "ingest.asl.json"
_NAME = re.compile(r"`([A-Za-z]\w*)`")
_PARENTHESES = re.compile(r"\([^)]*\)")


def sections() -> dict[str, str]:
    """The contract's sections by the words of their heading before any '—'."""
    parts = re.split(r"^## ", CONTRACTS.read_text(), flags=re.MULTILINE)
    return {part.partition("\n")[0].split("—")[0].strip(): part for part in parts[1:]}


def table_rows(section: str) -> Iterator[list[str]]:
    """The cells of each row of the section's table, header and rule left out."""
    for line in section.splitlines():
        if line.startswith("| `"):
            yield [cell.strip() for cell in line.strip().strip("|").split("|")]


def names(cell: str) -> list[str]:
    """The field names in a cell, without those inside parentheses (types and item fields)."""
    return _NAME.findall(_PARENTHESES.sub("", cell))


def states() -> dict[str, dict[str, Any]]:
    """Every state of the workflow by name, those inside Parallel branches and Maps too."""
    found: dict[str, dict[str, Any]] = {}

    def walk(level: dict[str, Any]) -> None:
        for name, state in level.items():
            found[name] = state
            for branch in state.get("Branches", []):
                walk(branch["States"])
            if "ItemProcessor" in state:
                walk(state["ItemProcessor"]["States"])

    walk(json.loads(WORKFLOW.read_text())["States"])
    return found


def written(state: dict[str, Any]) -> dict[str, list[str]]:
    """The record attributes a DynamoDB task writes, each with the fields of its map value."""
    parameters = state["Parameters"]
    if "Item" in parameters:
        return {name: list(value.get("M", {})) for name, value in parameters["Item"].items()}
    aliases = parameters.get("ExpressionAttributeNames", {})
    values = parameters.get("ExpressionAttributeValues", {})
    # Commas outside parentheses separate assignments (if_not_exists(#key, :key) is one value).
    assignments = re.split(r",\s*(?![^(]*\))", parameters["UpdateExpression"].removeprefix("SET "))
    attributes = {}
    for assignment in assignments:
        target, _, value = (part.strip() for part in assignment.partition("="))
        placeholder = re.search(r":\w+", value)
        fields = values[placeholder.group()].get("M", {}) if placeholder else {}
        attributes[aliases.get(target, target)] = list(fields)
    return attributes


def record_writes() -> dict[str, dict[str, list[str]]]:
    """What each state that writes the record writes, by state name."""
    return {
        name: written(state)
        for name, state in states().items()
        if state.get("Resource", "").endswith((":::dynamodb:putItem", ":::dynamodb:updateItem"))
    }


def record_section() -> str:
    return sections()["The metadata record (`MediaTable`)"]


def record_table() -> list[tuple[list[str], str, list[str]]]:
    """Per row of the record's table: its attributes, the rest of its first cell (the fields of
    a map) and the states it names as writing them."""
    rows = []
    for cells in table_rows(record_section()):
        attributes, _, fields = cells[0].partition(":")
        rows.append((names(attributes), fields, re.findall(r"\*([^*]+)\*", cells[1])))
    return rows


def audio_output() -> list[str]:
    section = sections()["Analyze audio"]
    start = section.index("Output: `{")
    listed = section[start : section.index("}`", start)]
    return re.findall(r'"(\w+)"', listed)


def test_every_record_attribute_the_workflow_writes_is_in_the_contract_and_back() -> None:
    (partition_key,) = re.findall(r"^Partition key `(\w+)`", record_section(), re.MULTILINE)
    in_contract = {name for attributes, _, _ in record_table() for name in attributes}
    in_workflow = {name for attributes in record_writes().values() for name in attributes}

    assert in_contract | {partition_key} == in_workflow


@pytest.mark.parametrize("row", range(len(record_table())))
def test_each_state_the_contract_names_writes_the_attributes_of_its_row(row: int) -> None:
    attributes, _, writers = record_table()[row]
    writes = record_writes()

    for writer in writers:
        assert writer in writes, f"the contract names {writer!r}, which writes no record"
        assert set(attributes) <= set(writes[writer]), writer


@pytest.mark.parametrize("attribute", ["image", "audio"])
def test_fields_of_the_result_maps_match(attribute: str) -> None:
    (fields,) = [fields for names_, fields, _ in record_table() if names_ == [attribute]]
    listed = names(fields) or audio_output()  # "the audio function's output"
    (written_fields,) = [w[attribute] for w in record_writes().values() if attribute in w]

    assert sorted(listed) == sorted(written_fields)


def test_label_fields_match_the_workflow() -> None:
    (fields,) = [fields for names_, fields, _ in record_table() if names_ == ["image"]]
    listed = re.search(r"`labels` \(L of M ([^)]*)\)", fields)
    (selector,) = [
        state["ItemSelector"]["M"] for state in states().values() if "ItemSelector" in state
    ]

    assert listed is not None
    assert sorted(_NAME.findall(listed.group(1))) == sorted(selector)


@pytest.mark.parametrize(
    ("state", "contract"),
    [("Inspect object", "Inspect object"), ("Analyze audio", "Analyze audio")],
)
def test_function_outputs_the_workflow_keeps_are_the_contract_s(state: str, contract: str) -> None:
    selector = states()[state]["ResultSelector"]
    kept = {key.removesuffix(".$") for key in selector}
    if contract == "Analyze audio":
        listed = set(audio_output())
    else:
        listed = {name for row in table_rows(sections()[contract]) for name in names(row[0])}

    assert kept == listed
