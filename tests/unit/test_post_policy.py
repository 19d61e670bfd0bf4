"""POST policies as S3 reads and enforces them (POST Policy, sigv4-HTTPPOSTConstructPolicy):
AWS's own example form against AWS's own example policy, and each rule of the policy language."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from typing import Any

import pytest

from mediaflow.localcloud.post_policy import PostPolicy, SizeRange
from mediaflow.localcloud.s3_errors import S3Error
from tests.unit.aws_signing_examples import EXAMPLE_POLICY, EXAMPLE_SIGNATURE

BEFORE = datetime(2015, 12, 29, 12, tzinfo=UTC)
# The form of https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-post-example.html, its
# `${filename}` expanded; fields named in the case the page names them.
EXAMPLE_FORM = [
    ("key", "user/user1/photo.jpg"),
    ("acl", "public-read"),
    (
        "success_action_redirect",
        "http://sigv4examplebucket.s3.amazonaws.com/successful_upload.html",
    ),
    ("Content-Type", "image/jpeg"),
    ("x-amz-meta-uuid", "14365123651274"),
    ("x-amz-server-side-encryption", "AES256"),
    ("X-Amz-Credential", "AKIAIOSFODNN7EXAMPLE/20151229/us-east-1/s3/aws4_request"),
    ("X-Amz-Algorithm", "AWS4-HMAC-SHA256"),
    ("X-Amz-Date", "20151229T000000Z"),
    ("x-amz-meta-tag", ""),
    ("Policy", EXAMPLE_POLICY),
    ("X-Amz-Signature", EXAMPLE_SIGNATURE),
]


def encoded(conditions: list[Any], expiration: str = "2015-12-30T12:00:00.000Z") -> str:
    document = {"expiration": expiration, "conditions": conditions}
    return base64.b64encode(json.dumps(document).encode()).decode()


def refusal(policy: str, fields: list[tuple[str, str]], bucket: str = "b") -> tuple[str, str]:
    with pytest.raises(S3Error) as refused:
        PostPolicy.decode(policy).check(fields, bucket, BEFORE)
    return refused.value.code, refused.value.message


def test_awss_example_form_meets_awss_example_policy_until_it_expires() -> None:
    policy = PostPolicy.decode(EXAMPLE_POLICY)

    allowed = policy.check(EXAMPLE_FORM, "sigv4examplebucket", BEFORE)

    assert allowed == SizeRange()
    assert refusal(EXAMPLE_POLICY, EXAMPLE_FORM, "otherbucket") == (
        "AccessDenied",
        'Invalid according to Policy: Policy Condition failed: ["eq", "$bucket", '
        '"sigv4examplebucket"]',
    )
    with pytest.raises(S3Error) as expired:
        policy.check(EXAMPLE_FORM, "sigv4examplebucket", datetime(2015, 12, 31, tzinfo=UTC))
    assert expired.value.message == "Invalid according to Policy: Policy expired."


def test_a_content_type_list_must_start_with_the_prefix_throughout() -> None:
    policy = encoded([["starts-with", "$Content-Type", "image/"]])

    PostPolicy.decode(policy).check([("content-type", "image/jpg, image/png")], "b", BEFORE)
    assert refusal(policy, [("Content-Type", "image/jpg,text/plain")])[0] == "AccessDenied"


def test_names_are_case_insensitive_and_values_are_not() -> None:
    policy = encoded([{"X-Amz-Meta-Place": "Zürich"}, ["starts-with", "$KEY", "uploads/"]])

    PostPolicy.decode(policy).check(
        [("x-amz-meta-place", "Zürich"), ("key", "uploads/a")], "b", BEFORE
    )
    assert refusal(policy, [("x-amz-meta-place", "zürich"), ("key", "uploads/a")])[0] == (
        "AccessDenied"
    )


def test_every_size_range_holds_and_bounds_may_be_strings() -> None:
    policy = encoded([["content-length-range", "5", 100], ["content-length-range", 10, "50"]])

    allowed = PostPolicy.decode(policy).check([], "b", BEFORE)

    assert allowed == SizeRange(10, 50)
    with pytest.raises(S3Error) as large:
        allowed.check(51)
    with pytest.raises(S3Error) as small:
        allowed.check(9)
    assert (large.value.code, small.value.code) == ("EntityTooLarge", "EntityTooSmall")
    allowed.check(10)
    allowed.check(50)


def test_a_field_no_condition_covers_is_refused_unless_exempt() -> None:
    policy = encoded([["starts-with", "$key", ""]])
    exempt = [("key", "k"), ("policy", "p"), ("X-Amz-Signature", "s"), ("x-ignore-me", "1")]

    PostPolicy.decode(policy).check([*exempt, ("file", "")], "b", BEFORE)
    assert refusal(policy, [*exempt, ("zeta", "1"), ("Alpha", "2")]) == (
        "AccessDenied",
        "Invalid according to Policy: Extra input fields: zeta, Alpha",
    )


def test_a_condition_on_an_absent_field_fails() -> None:
    policy = encoded([["starts-with", "$x-amz-meta-tag", ""]])

    assert refusal(policy, [])[0] == "AccessDenied"


@pytest.mark.parametrize(
    ("policy", "message"),
    [
        ("not base64!", "Invalid Policy: Invalid JSON."),
        (base64.b64encode(b"[1, 2]").decode(), "Invalid Policy: Invalid JSON."),
        (
            base64.b64encode(b'{"Statement": [], "expiration": "x"}').decode(),
            "Invalid Policy: Unexpected: 'statement'",
        ),
        (
            base64.b64encode(b'{"conditions": []}').decode(),
            "Invalid Policy: Policy missing expiration.",
        ),
        (
            encoded([], expiration="2015-12-30 12:00:00 UTC"),
            "Invalid Policy: Invalid 'expiration' value: '2015-12-30 12:00:00 UTC'",
        ),
        (
            encoded([{"key": "a", "acl": "private"}]),
            "Invalid Policy: Invalid Simple-Condition: Simple-Conditions must have exactly one "
            "property specified.",
        ),
        (
            encoded([{"Content-Length": 6199034}]),
            "Invalid Policy: Invalid Simple-Condition: value must be a string.",
        ),
        (encoded([["content-length-range", 0, 512.0]]), "Invalid Policy: Invalid JSON."),
        (encoded([["in", "$key", "a"]]), "Invalid Policy: Invalid Condition: unknown operation"),
        (encoded([["eq", "$key"]]), "Invalid Policy: Invalid eq: wrong number of arguments."),
    ],
)
def test_a_policy_s3_cannot_read_is_an_invalid_policy_document(policy: str, message: str) -> None:
    with pytest.raises(S3Error) as refused:
        PostPolicy.decode(policy)

    assert (refused.value.status, refused.value.code) == (400, "InvalidPolicyDocument")
    assert refused.value.message.startswith(message)
