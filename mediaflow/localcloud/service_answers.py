"""Answers to AWS calls made in this process, given before botocore sends them (`before-call`
handlers): the local cloud answers the services moto lacks, injected faults, and the Step
Functions calls it routes to its engine shards."""

from __future__ import annotations

import uuid
from typing import Any

from botocore.awsrequest import AWSResponse, HTTPHeaders

Answer = tuple[AWSResponse, dict[str, Any]]


def answer(status: int, parsed: dict[str, Any]) -> Answer:
    """A response as botocore would have parsed it: an `Error` in it raises the modelled error."""
    parsed.setdefault(
        "ResponseMetadata", {"RequestId": str(uuid.uuid4()), "HTTPStatusCode": status}
    )
    return AWSResponse("https://mediaflow.local", status, HTTPHeaders(), None), parsed


def error_answer(code: str, message: str, status: int) -> Answer:
    return answer(status, {"Error": {"Code": code, "Message": message}})
