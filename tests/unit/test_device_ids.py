"""Device ids: the ones DynamoDB's DeviceIndex, S3 keys and an HTTP API all take, and no other."""

from __future__ import annotations

import unicodedata

import pytest
from inspector.devices import MAX_LENGTH, NO_DEVICE, device_id_problem


@pytest.mark.parametrize(
    "device",
    [
        "phone-1",
        "field_recorder.7",
        "0a1b2c3d-4e5f-6789-abcd-ef0123456789",  # a Cognito `sub`
        "Gerät-7",
        unicodedata.normalize("NFD", "Gerät-7"),  # as macOS spells it: "a" and a combining mark
        "録音機",
        "d" * MAX_LENGTH,
    ],
)
def test_accepted_device_ids(device: str) -> None:
    assert device_id_problem(device) == ""


@pytest.mark.parametrize(
    ("device", "problem"),
    [
        ("", "the device id is empty"),
        ("d" * (MAX_LENGTH + 1), f"the device id is {MAX_LENGTH + 1} characters long"),
        ("Gerät 7", "device id 'Gerät 7' has the character ' '"),
        ("rec+1", "device id 'rec+1' has the character '+'"),
        ("rec%201", "device id 'rec%201' has the character '%'"),
        ("tab\tlet", "device id 'tab\\tlet' has the character '\\t'"),
        ("nul\x00", "device id 'nul\\x00' has the character '\\x00'"),
        ("a:b", "device id 'a:b' has the character ':'"),
        (".", "device id '.' starts with '.'"),
        ("..", "device id '..' starts with '.'"),
        ("-rf", "device id '-rf' starts with '-'"),
        ("\u0308a", "device id '\u0308a' starts with '\u0308'"),
    ],
)
def test_refused_device_ids_say_why_and_what_is_allowed(device: str, problem: str) -> None:
    reason = device_id_problem(device)

    assert reason.startswith(problem)
    assert reason.endswith(
        "a device id is 1 to 128 letters, digits, '-', '_' or '.', starting with a letter or digit"
    )


def test_the_placeholder_for_no_device_fits_dynamodb_and_is_no_device_s_id() -> None:
    # DynamoDB refuses "" in an index key; a real device can never be called this
    assert NO_DEVICE
    assert device_id_problem(NO_DEVICE) != ""


def test_the_longest_accepted_id_fits_a_dynamodb_partition_key() -> None:
    # 2048 bytes at most (UTF-8): 128 characters of 4 bytes each are 512
    longest = "\U00020000" * MAX_LENGTH  # a CJK ideograph outside the BMP, 4 bytes in UTF-8
    assert device_id_problem(longest) == ""
    assert len(longest.encode()) <= 2048
