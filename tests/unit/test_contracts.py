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
    # Only SET writes (REMOVE takes attributes away); commas outside parentheses separate its
    # assignments (if_not_exists(#key, :key) is one value).
    set_clause = re.split(r"\s+REMOVE\s+", parameters["UpdateExpression"])[0]
    assignments = re.split(r",\s*(?![^(]*\))", set_clause.removeprefix("SET "))
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
    from thumbnailer.labels import record_labels

    (fields,) = [fields for names_, fields, _ in record_table() if names_ == ["image"]]
    listed = re.search(r"`labels` \(L of M ([^)]*)\)", fields)
    # Make thumbnail turns the labels Detect labels found into the record's items
    (item,) = record_labels([{"Name": "Dog", "Confidence": 90.5}])
    thumbnail = states()["Make thumbnail"]
    image = states()["Record image result"]["Parameters"]["ExpressionAttributeValues"][":image"]

    assert listed is not None
    assert sorted(_NAME.findall(listed.group(1))) == sorted(item["M"])
    assert thumbnail["Parameters"]["Payload"]["labels.$"] == "$.detected.labels"
    assert image["M"]["labels"] == {"L.$": f"{thumbnail['ResultPath']}.labels"}


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


# -- tombstones: what DELETE /media leaves, and no state of the workflow writes over ---------------

TABLE = "media-table"
MEDIA_ID = "9" * 64
EXECUTION = "arn:aws:states:us-east-1:123456789012:execution:ingest:run-1"
TOMBSTONE = {
    "mediaId": {"S": MEDIA_ID},
    "status": {"S": "DELETED"},
    "deletedAt": {"S": "2024-05-01T12:00:00Z"},
    "executionArn": {"S": "deleted"},
    "ttl": {"N": "1714651200"},
}
UPLOADING = {
    "mediaId": {"S": MEDIA_ID},
    "status": {"S": "UPLOADING"},
    "deviceId": {"S": "phone-1"},
    "key": {"S": "uploads/phone-1/01HXAMPLE.jpg"},
    "uploadedAt": {"S": "2024-05-01T11:59:00Z"},
    "expiresAt": {"S": "2024-05-01T12:14:00Z"},
    "ttl": {"N": "1714651200"},
}


def sample_value(path: str, execution_arn: str) -> str:
    """What a JSONPath of the workflow stands for in these tests."""
    if path == "$.mediaId":
        return MEDIA_ID
    if path == "$$.Execution.Id":
        return execution_arn
    return "2024-05-01T12:00:00Z" if path.startswith("$$.") else "sample"


def filled(value: Any, execution_arn: str) -> Any:
    """A state's DynamoDB parameters with every `.$` path replaced by a sample value."""
    if isinstance(value, list):
        return [filled(item, execution_arn) for item in value]
    if not isinstance(value, dict):
        return TABLE if value == "${MediaTableName}" else value
    result = {}
    for key, item in value.items():
        if not key.endswith(".$"):
            result[key] = filled(item, execution_arn)
        elif key == "N.$":
            result["N"] = "1"
        elif key == "L.$":
            result["L"] = []
        else:
            result[key.removesuffix(".$")] = sample_value(item, execution_arn)
    return result


def write(dynamodb: Any, state: str, execution_arn: str) -> None:
    """The DynamoDB call the state makes, on the table."""
    task = states()[state]
    operation = task["Resource"].rpartition(":")[2]  # putItem, updateItem
    call = dynamodb.put_item if operation == "putItem" else dynamodb.update_item
    call(**filled(task["Parameters"], execution_arn))


@pytest.fixture
def dynamodb() -> Iterator[Any]:
    moto = pytest.importorskip("moto")
    import boto3

    with moto.mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        client.create_table(
            TableName=TABLE,
            BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[{"AttributeName": "mediaId", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "mediaId", "KeyType": "HASH"}],
        )
        yield client


def stored(dynamodb: Any) -> dict[str, Any]:
    item: dict[str, Any] = dynamodb.get_item(TableName=TABLE, Key={"mediaId": {"S": MEDIA_ID}})[
        "Item"
    ]
    return item


@pytest.mark.parametrize("state", sorted(record_writes()))
def test_no_write_of_the_workflow_changes_a_tombstone(dynamodb: Any, state: str) -> None:
    # Given the media was deleted: its record is a tombstone
    dynamodb.put_item(TableName=TABLE, Item=TOMBSTONE)

    # When the state writes it, even as an execution the tombstone's executionArn names
    with pytest.raises(dynamodb.exceptions.ConditionalCheckFailedException):
        write(dynamodb, state, execution_arn="deleted")

    # Then the tombstone stands as it was
    assert stored(dynamodb) == TOMBSTONE


@pytest.mark.parametrize(
    "state",
    sorted(
        name for name in record_writes() if name.startswith("Record ") and "failure" not in name
    ),
)
def test_a_result_is_written_to_the_record_its_execution_claimed(dynamodb: Any, state: str) -> None:
    dynamodb.put_item(TableName=TABLE, Item=UPLOADING)
    write(dynamodb, "Claim object", EXECUTION)

    write(dynamodb, state, EXECUTION)

    assert stored(dynamodb)["executionArn"] == {"S": EXECUTION}


def test_the_claim_replaces_the_uploading_record_which_then_never_expires(dynamodb: Any) -> None:
    dynamodb.put_item(TableName=TABLE, Item=UPLOADING)

    write(dynamodb, "Claim object", EXECUTION)

    record = stored(dynamodb)
    assert (record["status"], record["executionArn"]) == ({"S": "PROCESSING"}, {"S": EXECUTION})
    assert not {"ttl", "expiresAt"} & set(record)


def test_a_failure_before_the_claim_fails_the_uploading_record_for_good(dynamodb: Any) -> None:
    # Given Inspect failed for an upload the HTTP API announced
    dynamodb.put_item(TableName=TABLE, Item=UPLOADING)

    write(dynamodb, "Record failure", EXECUTION)

    record = stored(dynamodb)
    assert (record["status"], record["executionArn"]) == ({"S": "FAILED"}, {"S": EXECUTION})
    assert "ttl" not in record  # a FAILED record stays until someone looks at it


def test_a_refused_failure_ends_superseded_without_a_dlq_message() -> None:
    catches = states()["Record failure"]["Catch"]
    refused = next(
        c for c in catches if c["ErrorEquals"] == ["DynamoDB.ConditionalCheckFailedException"]
    )

    assert refused["Next"] == "Skip superseded execution"
    assert catches.index(refused) == 0  # before States.ALL, which goes to the DLQ
    for state in record_writes():
        for catcher in states()[state].get("Catch", []):
            if "DynamoDB.ConditionalCheckFailedException" in catcher["ErrorEquals"]:
                assert catcher["Next"] in ("Skip duplicate", "Skip superseded execution"), state
