"""Device ids: which ones Mediaflow accepts, and what a record without one carries instead.

A device id is the `<device-id>` of an upload's key, `uploads/<device-id>/<file name>`. It
becomes the partition key of the table's DeviceIndex and the device's name in the HTTP API
(taken from its token, and in URLs). Each of those refuses or changes some strings, so the
pipeline accepts only ids that all of them take as they are:

- 1 to `MAX_LENGTH` characters: DynamoDB refuses an empty string in any table or index key
  attribute, and caps a partition key at 2048 bytes (128 characters are 512 bytes at most);
  Amazon Cognito's user names, which a device's token carries, are 1 to 128 characters.
  https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Constraints.html
  https://aws.amazon.com/about-aws/whats-new/2020/05/amazon-dynamodb-now-supports-empty-values-for-non-key-string-and-binary-attributes-in-dynamodb-tables/
  https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_AdminCreateUser.html
- letters and digits of any script (with their combining marks, so that a decomposed "ä" is
  as good as a composed one), '-', '_' and '.', starting with a letter or digit: no spaces,
  '+' or '%', whose meaning changes between a key as S3 stores it and a key as an event or a
  URL carries it (encoded), no '/', no control characters, and no '.' or '..' path segment.
  https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-keys.html#object-key-guidelines

An upload whose key names no acceptable device is REJECTED; its record carries `NO_DEVICE`,
which DynamoDB takes and no real device can have (it is outside the rule), so it never shows
up in a device's list.
"""

from __future__ import annotations

import unicodedata

MAX_LENGTH = 128
NO_DEVICE = "(none)"
"""The `deviceId` of a record whose key names no acceptable device."""

_PUNCTUATION = "-_."
RULE = (
    f"a device id is 1 to {MAX_LENGTH} letters, digits, '-', '_' or '.', "
    "starting with a letter or digit"
)


def device_id_problem(device_id: str) -> str:
    """Why `device_id` cannot be a device's id, in a sentence; "" when it can."""
    if not device_id:
        return f"the device id is empty; {RULE}"
    if len(device_id) > MAX_LENGTH:
        return f"the device id is {len(device_id)} characters long; {RULE}"
    if not _letter_or_digit(device_id[0]):
        return f"device id {device_id!r} starts with {device_id[0]!r}; {RULE}"
    wrong = next((c for c in device_id if not _allowed(c)), None)
    if wrong is not None:
        return f"device id {device_id!r} has the character {wrong!r}; {RULE}"
    return ""


def _letter_or_digit(char: str) -> bool:
    category = unicodedata.category(char)
    return category[0] == "L" or category == "Nd"


def _allowed(char: str) -> bool:
    return _letter_or_digit(char) or unicodedata.category(char)[0] == "M" or char in _PUNCTUATION
