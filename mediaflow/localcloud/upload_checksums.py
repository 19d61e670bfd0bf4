"""The integrity checks S3 makes of an upload's bytes before it stores them: `Content-MD5` and
one `x-amz-checksum-*` value, as headers of a PUT (PutObject, UploadPart) or fields of a POST
form. "If the checksum value calculated by S3 matches your provided value, the request is
accepted. If the values don't match, the request is rejected" (OBJECT_INTEGRITY): 400
BadDigest, as S3 answers.

CRC32C and CRC64NVME need a native library the tool does not depend on: such values are checked
for their form only, and the emulator stores them unverified.
Pages named in capitals are s3_errors' constants.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping

from mediaflow.localcloud.request_body import Digests
from mediaflow.localcloud.s3_errors import S3Error, invalid_request

_PREFIX = "x-amz-checksum-"
# The raw size of each algorithm's value (OBJECT_INTEGRITY).
_SIZES = {"crc32": 4, "crc32c": 4, "crc64nvme": 8, "sha1": 20, "sha256": 32}
_VERIFIED = ("crc32", "sha1", "sha256")


def _decoded(value: str) -> bytes | None:
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return None


def checksum_algorithm(values: Mapping[str, str]) -> str | None:
    """The one `x-amz-checksum-<algorithm>` an upload names (lower-case), checked for form:
    S3 takes a single checksum, base64 of the algorithm's size."""
    named = [
        name[len(_PREFIX) :]
        for name in values
        if name.startswith(_PREFIX) and name[len(_PREFIX) :] in _SIZES
    ]
    if len(named) > 1:
        raise invalid_request(
            "Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed."
        )
    if not named:
        for name in ("x-amz-checksum-algorithm", "x-amz-sdk-checksum-algorithm"):
            if name in values and "x-amz-trailer" not in values:
                # "If a value is specified, you must include the matching checksum header.
                # Otherwise, your request will generate a 400 error" (POST_OBJECT).
                raise invalid_request(
                    f"{name} specified, but no corresponding x-amz-checksum-* or x-amz-trailer "
                    "headers were found."
                )
        return None
    algorithm = named[0]
    raw = _decoded(values[_PREFIX + algorithm])
    if raw is None or len(raw) != _SIZES[algorithm]:
        raise invalid_request(f"Value for {_PREFIX}{algorithm} header is invalid.")
    return algorithm


def needed(values: Mapping[str, str]) -> set[str]:
    """The digests of the body that `values` (lower-case headers or form fields) ask to check,
    after their form is checked."""
    wanted = set()
    if "content-md5" in values:
        raw = _decoded(values["content-md5"])
        if raw is None or len(raw) != 16:
            raise S3Error("InvalidDigest", "The Content-MD5 you specified was invalid.", 400)
        wanted.add("md5")
    algorithm = checksum_algorithm(values)
    if algorithm in _VERIFIED:
        wanted.add(algorithm)
    return wanted


def verify(values: Mapping[str, str], digests: Digests) -> None:
    """Refuses a body whose digests (those `needed` named) differ from what its request gave."""
    md5 = digests.base64("md5")
    if md5 is not None and md5 != values["content-md5"]:
        raise S3Error(
            "BadDigest", "The Content-MD5 you specified did not match what we received.", 400
        )
    for algorithm in _VERIFIED:
        calculated = digests.base64(algorithm)
        if calculated is not None and calculated != values[_PREFIX + algorithm]:
            raise S3Error(
                "BadDigest",
                f"The {algorithm.upper()} you specified did not match the calculated checksum.",
                400,
            )
