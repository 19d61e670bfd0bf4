"""Signature Version 4 as the local S3 gateway checks it, against the worked examples AWS
publishes: a presigned GET (sigv4-query-string-auth) and a POST policy (sigv4-post-example)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from mediaflow.localcloud import sigv4
from mediaflow.localcloud.s3_errors import S3Error
from tests.unit.aws_signing_examples import (
    ACCESS_KEY,
    CREDENTIALS,
    EXAMPLE_POLICY,
    EXAMPLE_SIGNATURE,
    HOST,
    QUERY,
    SIGNED_AT,
)


def check(
    query: str = QUERY, path: str = "/test.txt", after: timedelta = timedelta()
) -> sigv4.Presigned:
    now = SIGNED_AT + after
    return sigv4.check_presigned("GET", path, query, HOST, CREDENTIALS, "us-east-1", now)


def refusal(
    query: str = QUERY, path: str = "/test.txt", after: timedelta = timedelta()
) -> tuple[int, str, str]:
    with pytest.raises(S3Error) as refused:
        check(query, path, after)
    return refused.value.status, refused.value.code, refused.value.message


def test_awss_presigned_example_verifies() -> None:
    presigned = check(after=timedelta(hours=23))

    assert presigned.scope == sigv4.Scope(ACCESS_KEY, "20130524", "us-east-1")
    assert presigned.signed_headers == ("host",)


def test_awss_presigned_example_is_refused_once_changed_or_expired() -> None:
    assert refusal(path="/test2.txt")[:2] == (403, "SignatureDoesNotMatch")
    assert refusal(QUERY.replace("Expires=86400", "Expires=86401"))[:2] == (
        403,
        "SignatureDoesNotMatch",
    )
    assert refusal(after=timedelta(days=1, seconds=1)) == (
        403,
        "AccessDenied",
        "Request has expired",
    )
    assert refusal(QUERY.replace("Expires=86400", "Expires=604801"))[1] == (
        "AuthorizationQueryParametersError"
    )
    assert refusal(QUERY.replace("us-east-1", "eu-west-1"))[2] == (
        "Error parsing the X-Amz-Credential parameter; the region 'eu-west-1' is wrong; "
        "expecting 'us-east-1'"
    )
    assert refusal(QUERY.replace("AKIAIOSFODNN7EXAMPLE", "SOMEONEELSE"))[1] == (
        "InvalidAccessKeyId"
    )
    assert refusal(QUERY.replace("&X-Amz-Signature", "&X-Amz-Sig"))[1] == (
        "AuthorizationQueryParametersError"
    )


def test_headers_a_presigned_request_carries_must_be_signed() -> None:
    with pytest.raises(S3Error) as refused:
        sigv4.check_presigned(
            "GET",
            "/test.txt",
            QUERY,
            {**HOST, "x-amz-meta-note": ["hello"]},
            CREDENTIALS,
            "us-east-1",
            SIGNED_AT,
        )

    assert refused.value.code == "AccessDenied"
    assert ("HeadersNotSigned", "x-amz-meta-note") in refused.value.details


def test_awss_post_policy_example_verifies_and_a_changed_one_does_not() -> None:
    scope = sigv4.Scope(ACCESS_KEY, "20151229", "us-east-1")
    secret = CREDENTIALS[ACCESS_KEY]

    sigv4.check_policy_signature(EXAMPLE_POLICY, EXAMPLE_SIGNATURE, scope, secret)
    with pytest.raises(S3Error) as refused:
        sigv4.check_policy_signature(EXAMPLE_POLICY[:-4], EXAMPLE_SIGNATURE, scope, secret)

    assert refused.value.code == "SignatureDoesNotMatch"
    assert ("StringToSign", EXAMPLE_POLICY[:-4]) in refused.value.details


@pytest.mark.parametrize(
    ("credential", "message"),
    [
        ("AKID/20130524/us-east-1/s3", "the Credential is mal-formed"),
        ("AKID/2013-05-24/us-east-1/s3/aws4_request", 'incorrect date format "2013-05-24"'),
        ("AKID/20130524/us-east-1/iam/aws4_request", 'incorrect service "iam"'),
        ("AKID/20130524/us-east-1/s3/aws5_request", 'incorrect terminal "aws5_request"'),
    ],
)
def test_a_credential_scope_s3_cannot_use_is_refused(credential: str, message: str) -> None:
    with pytest.raises(sigv4.CredentialFault) as fault:
        sigv4.Scope.parse(credential, "us-east-1")

    assert message in fault.value.message
