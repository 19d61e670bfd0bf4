"""The device API's handler (`ApiFunction`) against moto: every route through the real handler,
with the API Gateway payload-2.0 events the JWT authorizer produces, and every refusal the
function itself is responsible for."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import importlib
import json
import re
import sys
from collections.abc import Iterator
from datetime import datetime, timedelta
from types import ModuleType
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import boto3
import pytest
from moto import mock_aws

from mediaflow.localcloud.template import Stack
from tests.conftest import FUNCTIONS, ROOT, FakeLambdaContext, handler_module

STACK = Stack(ROOT)
BUCKET = STACK.physical_name("MediaBucket")
TABLE = STACK.physical_name("MediaTable")
INDEX = "DeviceIndex"
IDEMPOTENCY_TABLE = "api-idempotency"
MAX_IMAGE_BYTES = 50 * 1024 * 1024
MAX_AUDIO_BYTES = 2 * 1024**3
MIB = 1024 * 1024
JPEG_SHA256 = hashlib.sha256(b"jpeg bytes").hexdigest()


def api_module() -> ModuleType:
    """device_api.app imported afresh as a cold start imports it. Until template.yaml has
    ApiFunction, its code folder is put on sys.path the way tests/conftest.py puts the others."""
    if "ApiFunction" in FUNCTIONS:
        return handler_module("ApiFunction")
    code = str(ROOT / "functions" / "api")
    if code not in sys.path:
        sys.path.insert(0, code)
    sys.modules.pop("device_api.app", None)
    return importlib.import_module("device_api.app")


def http_event(
    method: str,
    path: str,
    *,
    username: str | None = "cam-1",
    groups: str | None = "[devices]",
    body: Any = None,
    raw_body: str | None = None,
    query: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
    base64_body: bool = False,
) -> dict[str, Any]:
    """The payload-2.0 event API Gateway sends for a request its JWT authorizer let through:
    lower-case headers, the verified claims under requestContext.authorizer.jwt (an array
    claim as API Gateway writes it, "[a b]")."""
    text = raw_body if raw_body is not None else (None if body is None else json.dumps(body))
    claims: dict[str, str] = {
        "sub": "7d3c1a52-0000-4000-8000-000000000001",
        "iss": "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_TEST",
        "client_id": "client",
        "token_use": "access",
        "scope": "aws.cognito.signin.user.admin",
        "exp": "1999999999",
    }
    if username is not None:
        claims["username"] = username
    if groups is not None:
        claims["cognito:groups"] = groups
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": urlencode(query or {}),
        "headers": {
            "content-type": "application/json",
            "authorization": "Bearer token",
            **{name.lower(): value for name, value in (headers or {}).items()},
        },
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "api",
            "authorizer": {"jwt": {"claims": claims, "scopes": None}},
            "domainName": "api.example.com",
            "http": {
                "method": method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "192.0.2.1",
                "userAgent": "device",
            },
            "requestId": "req",
            "routeKey": "$default",
            "stage": "$default",
            "time": "01/May/2024:10:00:00 +0000",
            "timeEpoch": 1714557600000,
        },
        "isBase64Encoded": base64_body,
    }
    if query:
        event["queryStringParameters"] = query
    if text is not None:
        event["body"] = base64.b64encode(text.encode()).decode() if base64_body else text
    return event


@dataclasses.dataclass
class Api:
    module: ModuleType
    s3: Any
    dynamodb: Any

    def call(self, method: str, path: str, **kwargs: Any) -> tuple[int, Any]:
        result = self.module.lambda_handler(http_event(method, path, **kwargs), FakeLambdaContext())
        body = result.get("body")
        return result["statusCode"], json.loads(body) if body else None

    def upload(self, size: int = 1000, device: str = "cam-1", **fields: Any) -> dict[str, Any]:
        body = {"contentType": "image/jpeg", "size": size, "sha256": JPEG_SHA256, **fields}
        status, answer = self.call("POST", "/uploads", username=device, body=body)
        assert status == 201, answer
        return dict(answer)

    def item(self, media_id: str) -> dict[str, Any] | None:
        found = self.dynamodb.get_item(TableName=TABLE, Key={"mediaId": {"S": media_id}})
        return found.get("Item")

    def put_record(self, **attributes: Any) -> None:
        item = {name: _attribute(value) for name, value in attributes.items()}
        self.dynamodb.put_item(TableName=TABLE, Item=item)

    def set_clock(self, moment: datetime) -> None:
        runtime = sys.modules["device_api.routes"]._runtime
        runtime.backends = dataclasses.replace(runtime.backends, now=lambda: moment)


def _attribute(value: Any) -> dict[str, Any]:
    if isinstance(value, str):
        return {"S": value}
    if isinstance(value, bool):
        return {"BOOL": value}
    if isinstance(value, int | float):
        return {"N": str(value)}
    if isinstance(value, dict):
        return {"M": {name: _attribute(inner) for name, inner in value.items()}}
    return {"L": [_attribute(inner) for inner in value]}


@pytest.fixture
def api(monkeypatch: pytest.MonkeyPatch) -> Iterator[Api]:
    with mock_aws():
        s3 = boto3.client("s3")
        s3.create_bucket(Bucket=BUCKET)
        s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
        dynamodb = boto3.client("dynamodb")
        props: dict[str, Any] = STACK.resolve(STACK.resources["MediaTable"]["Properties"])
        indexes: Any = [
            {key: index[key] for key in ("IndexName", "KeySchema", "Projection")}
            for index in props["GlobalSecondaryIndexes"]
        ]
        dynamodb.create_table(
            TableName=TABLE,
            BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=props["AttributeDefinitions"],
            KeySchema=props["KeySchema"],
            GlobalSecondaryIndexes=indexes,
        )
        # Powertools' DynamoDB persistence layer: partition key "id".
        dynamodb.create_table(
            TableName=IDEMPOTENCY_TABLE,
            BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        )
        secret = boto3.client("secretsmanager").create_secret(
            Name="api-signing-key", SecretString="k" * 32
        )
        for name, value in {
            "MEDIA_TABLE_NAME": TABLE,
            "DEVICE_INDEX_NAME": INDEX,
            "MEDIA_BUCKET_NAME": BUCKET,
            "MAX_IMAGE_BYTES": str(MAX_IMAGE_BYTES),
            "MAX_AUDIO_BYTES": str(MAX_AUDIO_BYTES),
            "MULTIPART_THRESHOLD_BYTES": str(8 * MIB),
            "IDEMPOTENCY_TABLE_NAME": IDEMPOTENCY_TABLE,
            "SIGNING_KEY_SECRET_ARN": secret["ARN"],
            "UPLOAD_PREFIX": "uploads/",
            "OUTPUT_PREFIX": "thumbnails/",
            "AWS_LAMBDA_FUNCTION_NAME": "ApiFunction",
        }.items():
            monkeypatch.setenv(name, value)
        yield Api(api_module(), s3, dynamodb)


def policy_of(fields: dict[str, str]) -> dict[str, Any]:
    return dict(json.loads(base64.b64decode(fields["policy"])))


# --- POST /uploads ---------------------------------------------------------------------------


def test_an_upload_is_a_presigned_post_pinning_exactly_what_the_contract_says(api: Api) -> None:
    status, answer = api.call(
        "POST",
        "/uploads",
        body={
            "contentType": "image/jpeg",
            "size": 1234,
            "sha256": JPEG_SHA256.upper(),
            "fileName": "Café ☕.jpg",
            "capturedAt": "2024-05-01T09:30:00+02:00",
        },
    )

    assert status == 201, answer
    key = answer["key"]
    assert re.fullmatch(r"uploads/cam-1/[0-9A-HJKMNP-TV-Z]{26}\.jpg", key)
    assert answer["mediaId"] == hashlib.sha256(f"{BUCKET}/{key}".encode()).hexdigest()
    upload = answer["upload"]
    assert upload["method"] == "POST"
    assert upload["url"] == f"https://{BUCKET}.s3.us-east-1.amazonaws.com/"
    fields = upload["fields"]
    checksum = base64.b64encode(bytes.fromhex(JPEG_SHA256)).decode()
    policy = policy_of(fields)
    conditions = policy["conditions"]
    exact = {name: value for condition in conditions if isinstance(condition, dict)
             for name, value in condition.items()}  # fmt: skip
    assert exact == {
        "bucket": BUCKET,
        "key": key,
        "Content-Type": "image/jpeg",
        "x-amz-checksum-algorithm": "SHA256",
        "x-amz-checksum-sha256": checksum,
        "x-amz-meta-device-id": "cam-1",
        "x-amz-meta-captured-at": "2024-05-01T09:30:00+02:00",
        "x-amz-algorithm": "AWS4-HMAC-SHA256",
        "x-amz-credential": fields["x-amz-credential"],
        "x-amz-date": fields["x-amz-date"],
        "x-amz-security-token": "testing",
    }
    assert [c for c in conditions if isinstance(c, list)] == [["content-length-range", 1234, 1234]]
    # Every form field the device sends is a condition of the policy (but the two S3 exempts).
    assert set(fields) - {"policy", "x-amz-signature"} == set(exact) - {"bucket"}
    assert all(fields[name] == value for name, value in exact.items() if name != "bucket")
    expires = datetime.fromisoformat(policy["expiration"].replace("Z", "+00:00"))
    assert answer["expiresAt"].startswith(expires.strftime("%Y-%m-%dT%H:%M:%S"))

    record = api.item(answer["mediaId"])
    assert record is not None
    assert {name: next(iter(value.values())) for name, value in record.items()} == {
        "mediaId": answer["mediaId"],
        "deviceId": "cam-1",
        "key": key,
        "contentType": "image/jpeg",
        "size": "1234",
        "sha256": JPEG_SHA256,
        "fileName": "Café ☕.jpg",
        "capturedAt": "2024-05-01T09:30:00+02:00",
        "uploadedAt": record["uploadedAt"]["S"],
        "status": "UPLOADING",
        "expiresAt": answer["expiresAt"],
        "ttl": str(int(expires.timestamp()) + 24 * 3600),
    }


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"contentType": "text/plain"}, "contentType"),
        ({"contentType": "image/jpg"}, "contentType"),
        ({"size": 0}, "size"),
        ({"size": -5}, "size"),
        ({"size": "5"}, "size"),
        ({"size": 5.5}, "size"),
        ({"size": True}, "size"),
        ({"size": 10**40}, "size"),
        ({"size": MAX_IMAGE_BYTES + 1}, "size"),
        ({"contentType": "audio/flac", "size": MAX_AUDIO_BYTES + 1}, "size"),
        ({"sha256": "abc"}, "sha256"),
        ({"sha256": "g" * 64}, "sha256"),
        ({"sha256": None}, "sha256"),
        ({"capturedAt": "yesterday"}, "capturedAt"),
        ({"capturedAt": "2024-02-30T10:00:00Z"}, "capturedAt"),
        ({"capturedAt": 1714557600}, "capturedAt"),
        ({"fileName": "a\nb.jpg"}, "fileName"),
        ({"fileName": "\ud800.jpg"}, "fileName"),
        ({"fileName": ""}, "fileName"),
        ({"deviceId": "cam-2"}, "deviceId"),
    ],
)
def test_a_bad_field_is_a_400_naming_it(api: Api, body: dict[str, Any], field: str) -> None:
    request = {"contentType": "image/jpeg", "size": 10, "sha256": JPEG_SHA256, **body}

    status, answer = api.call("POST", "/uploads", body=request)

    assert status == 400, answer
    assert answer["error"]["code"] == "ValidationError"
    assert answer["error"]["field"] == field
    assert answer["error"]["message"]


def test_a_missing_field_is_named(api: Api) -> None:
    status, answer = api.call("POST", "/uploads", body={"contentType": "image/png", "size": 3})

    assert (status, answer["error"]["field"]) == (400, "sha256")
    assert answer["error"]["message"] == "sha256 is required"


@pytest.mark.parametrize(
    "event_fields",
    [
        {"raw_body": "{not json"},
        {"raw_body": "[1, 2]"},
        {"raw_body": '"text"'},
        {"raw_body": ""},
        {"raw_body": "1" * 5000},
        {"raw_body": "[" * 20000 + "]" * 20000},
        {"raw_body": '{"size": NaN}'},
        {"raw_body": "\xff\xfe"},
        {"raw_body": "{}", "headers": {"content-type": "text/plain"}},
    ],
    ids=["malformed", "array", "string", "empty", "huge-integer", "deep", "nan", "latin", "text"],
)
def test_a_body_that_is_not_a_json_object_is_a_400(api: Api, event_fields: dict[str, Any]) -> None:
    status, answer = api.call("POST", "/uploads", **event_fields)

    assert status == 400, answer
    assert answer["error"]["code"] == "ValidationError"


def test_a_base64_body_that_is_not_utf8_is_a_400(api: Api) -> None:
    event = http_event("POST", "/uploads")
    event.update(body=base64.b64encode(b"\xff\xfe{}").decode(), isBase64Encoded=True)

    result = api.module.lambda_handler(event, FakeLambdaContext())

    assert result["statusCode"] == 400


def test_a_huge_body_is_a_413(api: Api) -> None:
    status, answer = api.call("POST", "/uploads", raw_body=json.dumps({"fileName": "x" * 70000}))

    assert (status, answer["error"]["code"]) == (413, "PayloadTooLarge")


def test_a_base64_encoded_json_body_is_read(api: Api) -> None:
    body = {"contentType": "audio/wav", "size": 44, "sha256": JPEG_SHA256}

    status, answer = api.call("POST", "/uploads", body=body, base64_body=True)

    assert status == 201, answer
    assert answer["key"].endswith(".wav")


@pytest.mark.parametrize(
    ("username", "groups"),
    [("cam-1", None), ("cam-1", "[]"), ("cam-1", "[viewers]"), (None, "[devices]")],
)
def test_a_caller_in_neither_group_is_refused_on_every_route(
    api: Api, username: str | None, groups: str | None
) -> None:
    for method, path in [
        ("POST", "/uploads"),
        ("GET", "/media"),
        ("GET", f"/media/{'0' * 64}"),
        ("DELETE", f"/media/{'0' * 64}"),
    ]:
        status, answer = api.call(method, path, username=username, groups=groups, body={})

        assert (status, answer["error"]["code"]) == (403, "Forbidden"), (method, path)


def test_an_operator_that_is_no_device_cannot_upload(api: Api) -> None:
    status, answer = api.call(
        "POST",
        "/uploads",
        groups="[operators]",
        body={"contentType": "image/png", "size": 3, "sha256": JPEG_SHA256},
    )

    assert (status, answer["error"]["code"]) == (403, "Forbidden")


def test_groups_are_read_as_api_gateway_passes_them(api: Api) -> None:
    body = {"contentType": "image/png", "size": 3, "sha256": JPEG_SHA256}

    for groups in ("[operators devices]", '["devices"]', "devices"):
        status, _ = api.call("POST", "/uploads", groups=groups, body=body)

        assert status == 201, groups


def test_a_retry_with_the_same_idempotency_key_returns_the_same_upload(api: Api) -> None:
    body = {"contentType": "image/jpeg", "size": 99, "sha256": JPEG_SHA256}
    headers = {"Idempotency-Key": "photo-0001"}

    first = api.call("POST", "/uploads", body=body, headers=headers)
    again = api.call("POST", "/uploads", body=body, headers=headers)
    other_device = api.call("POST", "/uploads", username="cam-2", body=body, headers=headers)

    assert first[0] == again[0] == other_device[0] == 201
    assert again[1] == first[1]
    assert other_device[1]["mediaId"] != first[1]["mediaId"]
    records = api.dynamodb.scan(TableName=TABLE)["Items"]
    assert len(records) == 2


def test_an_idempotency_key_reused_for_another_request_is_a_409(api: Api) -> None:
    headers = {"Idempotency-Key": "photo-0002"}
    body = {"contentType": "image/jpeg", "size": 99, "sha256": JPEG_SHA256}
    api.call("POST", "/uploads", body=body, headers=headers)

    status, answer = api.call("POST", "/uploads", body={**body, "size": 100}, headers=headers)

    assert (status, answer["error"]["code"]) == (409, "Conflict")
    assert answer["error"]["field"] == "Idempotency-Key"


def test_an_idempotency_key_must_be_visible_ascii(api: Api) -> None:
    body = {"contentType": "image/jpeg", "size": 99, "sha256": JPEG_SHA256}

    status, answer = api.call("POST", "/uploads", body=body, headers={"Idempotency-Key": "a b"})

    assert (status, answer["error"]["field"]) == (400, "Idempotency-Key")


# --- multipart -------------------------------------------------------------------------------


def part_checksum(data: bytes) -> str:
    return base64.b64encode(hashlib.sha256(data).digest()).decode()


def test_a_large_upload_is_multipart_with_checksummed_parts_and_resumes(api: Api) -> None:
    size = 12 * MIB
    created = api.upload(size=size, capturedAt="2024-05-01T10:00:00Z")
    media_id, key = created["mediaId"], created["key"]

    assert "upload" not in created
    assert created["multipart"] == {"partSize": 5 * MIB, "partCount": 3}
    [pending] = api.s3.list_multipart_uploads(Bucket=BUCKET)["Uploads"]
    assert pending["Key"] == key
    assert pending.get("ChecksumAlgorithm") == "SHA256"
    upload_id = pending["UploadId"]

    data = [bytes([n]) * (5 * MIB) for n in (1, 2)] + [b"\x03" * (2 * MIB)]
    asked = {
        "parts": [
            {"partNumber": n, "sha256": hashlib.sha256(data[n - 1]).hexdigest()} for n in (1, 2, 3)
        ]
    }
    status, urls = api.call("POST", f"/uploads/{media_id}/parts", body=asked)
    assert status == 200, urls
    for n, part in enumerate(urls["parts"], start=1):
        query = parse_qs(urlsplit(part["url"]).query)
        assert part["partNumber"] == n
        assert query["partNumber"] == [str(n)] and query["uploadId"] == [upload_id]
        assert query["X-Amz-SignedHeaders"] == ["host;x-amz-checksum-sha256"]
        assert urlsplit(part["url"]).netloc == f"{BUCKET}.s3.us-east-1.amazonaws.com"

    api.s3.upload_part(
        Bucket=BUCKET, Key=key, UploadId=upload_id, PartNumber=1, Body=data[0],
        ChecksumSHA256=part_checksum(data[0]),
    )  # fmt: skip
    status, progress = api.call("GET", f"/uploads/{media_id}")
    assert status == 200
    assert progress == {
        "mediaId": media_id,
        "key": key,
        "status": "UPLOADING",
        "multipart": {
            "partSize": 5 * MIB,
            "partCount": 3,
            "uploadedParts": [{"partNumber": 1, "size": 5 * MIB}],
        },
    }
    status, refused = api.call("POST", f"/uploads/{media_id}/complete")
    assert (status, refused["error"]["code"], refused["error"]["field"]) == (
        409,
        "Conflict",
        "parts",
    )
    assert "2, 3" in refused["error"]["message"]

    for n in (2, 3):
        api.s3.upload_part(
            Bucket=BUCKET, Key=key, UploadId=upload_id, PartNumber=n, Body=data[n - 1],
            ChecksumSHA256=part_checksum(data[n - 1]),
        )  # fmt: skip
    status, done = api.call("POST", f"/uploads/{media_id}/complete")
    assert (status, done) == (200, {"mediaId": media_id, "key": key})
    stored = api.s3.head_object(Bucket=BUCKET, Key=key)
    assert stored["ContentLength"] == size
    assert stored["ContentType"] == "image/jpeg"
    assert stored["Metadata"] == {"device-id": "cam-1", "captured-at": "2024-05-01T10:00:00Z"}
    # Completing again (a retry whose answer was lost) answers the same.
    assert api.call("POST", f"/uploads/{media_id}/complete") == (200, done)


def test_parts_beyond_the_upload_or_of_the_wrong_size_are_refused(api: Api) -> None:
    created = api.upload(size=11 * MIB)
    media_id, key = created["mediaId"], created["key"]
    upload_id = api.s3.list_multipart_uploads(Bucket=BUCKET)["Uploads"][0]["UploadId"]

    status, answer = api.call(
        "POST",
        f"/uploads/{media_id}/parts",
        body={"parts": [{"partNumber": 4, "sha256": "0" * 64}]},
    )
    assert (status, answer["error"]["field"]) == (400, "parts")
    status, answer = api.call(
        "POST",
        f"/uploads/{media_id}/parts",
        body={"parts": [{"partNumber": 1, "sha256": "0" * 64}] * 2},
    )
    assert (status, answer["error"]["field"]) == (400, "parts")
    status, answer = api.call("POST", f"/uploads/{media_id}/parts", body={"parts": []})
    assert (status, answer["error"]["field"]) == (400, "parts")

    short = b"x" * (5 * MIB)
    for n, data in ((1, short), (2, short), (3, b"y" * 10)):
        api.s3.upload_part(Bucket=BUCKET, Key=key, UploadId=upload_id, PartNumber=n, Body=data)
    status, answer = api.call("POST", f"/uploads/{media_id}/complete")
    assert (status, answer["error"]["code"]) == (409, "Conflict")
    assert "part 3 is 10 bytes, not 1048576" in answer["error"]["message"]


def test_a_single_post_upload_has_no_parts(api: Api) -> None:
    media_id = api.upload(size=100)["mediaId"]

    status, answer = api.call(
        "POST",
        f"/uploads/{media_id}/parts",
        body={"parts": [{"partNumber": 1, "sha256": "0" * 64}]},
    )
    assert (status, answer["error"]["code"]) == (409, "Conflict")
    status, progress = api.call("GET", f"/uploads/{media_id}")
    assert status == 200 and "multipart" not in progress


def test_another_devices_upload_is_not_found(api: Api) -> None:
    media_id = api.upload(size=9 * MIB)["mediaId"]
    parts = {"parts": [{"partNumber": 1, "sha256": "0" * 64}]}

    for method, path, body in [
        ("GET", f"/uploads/{media_id}", None),
        ("POST", f"/uploads/{media_id}/parts", parts),
        ("POST", f"/uploads/{media_id}/complete", None),
        ("GET", f"/media/{media_id}", None),
        ("DELETE", f"/media/{media_id}", None),
    ]:
        status, answer = api.call(method, path, username="cam-2", body=body)

        assert (status, answer["error"]["code"]) == (404, "NotFound"), (method, path)


# --- GET /media/{mediaId} ---------------------------------------------------------------------


def processed_image(api: Api, media_id: str, device: str = "cam-1", **extra: Any) -> None:
    api.put_record(
        mediaId=media_id,
        schemaVersion=1,
        bucket=BUCKET,
        key=f"uploads/{device}/a.jpg",
        versionId="v1",
        sequencer="0" * 32,
        etag="e",
        kind="image",
        format="jpeg",
        contentType="image/jpeg",
        declaredContentType="image/jpeg",
        deviceId=device,
        platform="ios",
        uploadedAt="2024-05-01T10:00:00Z",
        size=1234,
        status="PROCESSED",
        executionArn="arn:aws:states:us-east-1:123456789012:execution:ingest:x",
        updatedAt="2024-05-01T10:00:05Z",
        image={
            "width": 640,
            "height": 480,
            "orientation": 1,
            "thumbnailKey": f"thumbnails/{media_id}/v1/thumbnail.jpg",
            "labels": [{"name": "Cat", "confidence": 97.5}],
            "labelModelVersion": "3.0",
        },
        **extra,
    )


def test_a_record_is_shown_in_its_public_shape_with_a_thumbnail_url(api: Api) -> None:
    media_id = "a" * 64
    processed_image(api, media_id, ttl=1999999999)

    status, record = api.call("GET", f"/media/{media_id}")

    assert status == 200, record
    thumbnail_url = record["image"].pop("thumbnailUrl")
    assert record == {
        "mediaId": media_id,
        "deviceId": "cam-1",
        "status": "PROCESSED",
        "key": "uploads/cam-1/a.jpg",
        "kind": "image",
        "format": "jpeg",
        "contentType": "image/jpeg",
        "size": 1234,
        "platform": "ios",
        "uploadedAt": "2024-05-01T10:00:00Z",
        "updatedAt": "2024-05-01T10:00:05Z",
        "image": {
            "width": 640,
            "height": 480,
            "orientation": 1,
            "labels": [{"name": "Cat", "confidence": 97.5}],
            "labelModelVersion": "3.0",
        },
    }
    url = urlsplit(thumbnail_url)
    assert url.path == f"/thumbnails/{media_id}/v1/thumbnail.jpg"
    assert parse_qs(url.query)["X-Amz-Expires"] == ["300"]


def test_an_audio_record_has_a_waveform_url(api: Api) -> None:
    media_id = "b" * 64
    api.put_record(
        mediaId=media_id,
        deviceId="cam-1",
        status="PROCESSED",
        kind="audio",
        uploadedAt="2024-05-01T10:00:00Z",
        audio={"durationSeconds": 1.5, "peakDbfs": -120, "waveformKey": "thumbnails/x/w.png"},
    )

    status, record = api.call("GET", f"/media/{media_id}")

    assert status == 200
    assert record["audio"]["durationSeconds"] == 1.5
    assert record["audio"]["peakDbfs"] == -120
    assert "/thumbnails/x/w.png?" in record["audio"]["waveformUrl"]


def test_unknown_deleted_or_another_devices_media_is_404_and_operators_see_any(api: Api) -> None:
    processed_image(api, "c" * 64, device="cam-2")
    api.put_record(mediaId="d" * 64, status="DELETED", executionArn="deleted", deletedAt="x")

    for media_id in ("c" * 64, "d" * 64, "e" * 64):
        status, answer = api.call("GET", f"/media/{media_id}")
        assert (status, answer["error"]["code"]) == (404, "NotFound")
    status, record = api.call("GET", f"/media/{'c' * 64}", username="ops", groups="[operators]")
    assert (status, record["deviceId"]) == (200, "cam-2")
    status, answer = api.call("GET", f"/media/{'d' * 64}", username="ops", groups="[operators]")
    assert status == 404


def test_a_malformed_media_id_is_a_400_naming_it(api: Api) -> None:
    status, answer = api.call("GET", "/media/not-an-id")

    assert (status, answer["error"]["field"]) == (400, "mediaId")


# --- GET /media ------------------------------------------------------------------------------


def seed_history(api: Api, device: str, count: int, start: int = 0) -> list[str]:
    """`count` records of `device`, one a minute; their ids newest first."""
    ids = []
    for n in range(start, start + count):
        media_id = hashlib.sha256(f"{device}/{n}".encode()).hexdigest()
        api.put_record(
            mediaId=media_id,
            deviceId=device,
            status="PROCESSED" if n % 2 else "REJECTED",
            kind="image" if n % 2 else "rejected",
            uploadedAt=f"2024-05-01T10:{n:02d}:00Z",
        )
        ids.append(media_id)
    return ids[::-1]


def all_pages(api: Api, limit: int, **kwargs: Any) -> list[list[str]]:
    pages: list[list[str]] = []
    query = {"limit": str(limit), **kwargs.pop("query", {})}
    while True:
        status, page = api.call("GET", "/media", query=query, **kwargs)
        assert status == 200, page
        pages.append([item["mediaId"] for item in page["items"]])
        if "cursor" not in page:
            return pages
        query = {**query, "cursor": page["cursor"]}


def test_pages_are_newest_first_without_duplicates_or_gaps(api: Api) -> None:
    newest_first = seed_history(api, "cam-1", 10)
    seed_history(api, "cam-2", 4)

    pages = all_pages(api, 3)

    assert [len(page) for page in pages] == [3, 3, 3, 1]
    assert [media_id for page in pages for media_id in page] == newest_first


def test_filters_apply_across_pages(api: Api) -> None:
    newest_first = seed_history(api, "cam-1", 12)

    pages = all_pages(api, 2, query={"status": "PROCESSED", "kind": "image"})

    assert [media_id for page in pages for media_id in page] == newest_first[::2]
    assert all(len(page) <= 2 for page in pages)


def test_the_default_page_is_20_and_limit_is_bounded(api: Api) -> None:
    seed_history(api, "cam-1", 25)

    status, page = api.call("GET", "/media")
    assert (status, len(page["items"])) == (200, 20)
    for limit in ("0", "101", "-1", "ten"):
        status, answer = api.call("GET", "/media", query={"limit": limit})
        assert (status, answer["error"]["field"]) == (400, "limit"), limit


def first_cursor(api: Api, query: dict[str, str] | None = None, **kwargs: Any) -> str:
    status, page = api.call("GET", "/media", query={"limit": "2", **(query or {})}, **kwargs)
    assert status == 200
    return str(page["cursor"])


def test_a_tampered_foreign_or_expired_cursor_is_a_400(api: Api) -> None:
    seed_history(api, "cam-1", 6)
    seed_history(api, "cam-2", 6)
    cursor = first_cursor(api)
    body, _, signature = cursor.partition(".")
    payload = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    payload["scope"]["device"] = "cam-2"
    forged = base64.urlsafe_b64encode(json.dumps(payload).encode()).rstrip(b"=").decode()

    refusals = [
        api.call("GET", "/media", query={"cursor": f"{forged}.{signature}"}),
        api.call("GET", "/media", query={"cursor": cursor[:-2] + "AA"}),
        api.call("GET", "/media", query={"cursor": "garbage"}),
        api.call("GET", "/media", query={"cursor": cursor}, username="cam-2"),
        api.call("GET", "/media", query={"cursor": cursor, "status": "PROCESSED"}),
    ]
    api.set_clock(datetime.now().astimezone() + timedelta(hours=1, seconds=1))
    refusals.append(api.call("GET", "/media", query={"cursor": cursor}))

    for status, answer in refusals:
        assert (status, answer["error"]["code"], answer["error"]["field"]) == (
            400,
            "InvalidCursor",
            "cursor",
        )


def test_the_signing_key_is_read_at_the_first_cursor_and_kept(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A cold start without the secret: uploads and a listing that fits one page need no key.
    secrets = boto3.client("secretsmanager")
    secrets.delete_secret(SecretId="api-signing-key", ForceDeleteWithoutRecovery=True)
    monkeypatch.setenv("SIGNING_KEY_SECRET_ARN", "api-signing-key")
    fresh = Api(api_module(), api.s3, api.dynamodb)
    fresh.upload()
    seed_history(fresh, "cam-1", 4)
    status, page = fresh.call("GET", "/media", query={"limit": "10"})
    assert (status, len(page["items"]), "cursor" in page) == (200, 5, False)

    secrets.create_secret(Name="api-signing-key", SecretString="a" * 32)
    cursor = first_cursor(fresh)
    secrets.put_secret_value(SecretId="api-signing-key", SecretString="b" * 32)
    status, page = fresh.call("GET", "/media", query={"limit": "2", "cursor": cursor})

    assert (status, len(page["items"])) == (200, 2), page


def test_only_operators_may_list_another_device(api: Api) -> None:
    cam2 = seed_history(api, "cam-2", 3)

    status, answer = api.call("GET", "/media", query={"device": "cam-2"})
    assert (status, answer["error"]["code"], answer["error"]["field"]) == (
        403,
        "Forbidden",
        "device",
    )
    pages = all_pages(api, 2, query={"device": "cam-2"}, username="ops", groups="[operators]")
    assert [media_id for page in pages for media_id in page] == cam2
    # An operator's cursor for one device does not list another.
    seed_history(api, "cam-1", 3)
    cursor = first_cursor(api, {"device": "cam-2"}, username="ops", groups="[operators]")
    status, answer = api.call(
        "GET",
        "/media",
        query={"cursor": cursor, "device": "cam-1"},
        username="ops",
        groups="[operators]",
    )
    assert (status, answer["error"]["code"]) == (400, "InvalidCursor")


# --- DELETE /media/{mediaId} -----------------------------------------------------------------


def test_delete_removes_every_version_derived_files_the_upload_and_leaves_a_tombstone(
    api: Api,
) -> None:
    created = api.upload(size=9 * MIB)
    media_id, key = created["mediaId"], created["key"]
    api.s3.put_object(Bucket=BUCKET, Key=key, Body=b"one")
    api.s3.put_object(Bucket=BUCKET, Key=key, Body=b"two")
    api.s3.delete_object(Bucket=BUCKET, Key=key)  # a delete marker
    api.s3.put_object(Bucket=BUCKET, Key=key + ".other", Body=b"not this one")
    api.s3.put_object(Bucket=BUCKET, Key=f"thumbnails/{media_id}/v1/thumbnail.jpg", Body=b"t")
    api.s3.put_object(Bucket=BUCKET, Key=f"thumbnails/{media_id}/v2/waveform.png", Body=b"w")
    api.s3.put_object(Bucket=BUCKET, Key=f"thumbnails/{'f' * 64}/v1/thumbnail.jpg", Body=b"k")

    status, answer = api.call("DELETE", f"/media/{media_id}")

    assert (status, answer) == (204, None)
    versions = api.s3.list_object_versions(Bucket=BUCKET)
    left = sorted(
        entry["Key"] for entry in versions.get("Versions", []) + versions.get("DeleteMarkers", [])
    )
    assert left == sorted([key + ".other", f"thumbnails/{'f' * 64}/v1/thumbnail.jpg"])
    assert api.s3.list_multipart_uploads(Bucket=BUCKET).get("Uploads", []) == []
    tombstone = api.item(media_id)
    assert tombstone is not None
    assert set(tombstone) == {"mediaId", "status", "deletedAt", "executionArn", "ttl"}
    assert tombstone["status"] == {"S": "DELETED"}
    assert tombstone["executionArn"] == {"S": "deleted"}
    assert int(tombstone["ttl"]["N"]) > datetime.now().timestamp() + 24 * 3600
    assert api.call("GET", f"/media/{media_id}")[0] == 404
    assert api.call("GET", "/media")[1] == {"items": []}
    assert api.call("DELETE", f"/media/{media_id}")[0] == 404


@pytest.mark.parametrize(
    "key",
    ["uploads/cam-2/a.jpg", "uploads/cam-10/a.jpg", "uploads/cam-1/", "thumbnails/x/a.jpg"],
)
def test_delete_touches_nothing_outside_the_callers_upload_folder(api: Api, key: str) -> None:
    # A record of cam-1's whose key is not in cam-1's folder (the workflow never writes one).
    media_id = hashlib.sha256(key.encode()).hexdigest()
    processed_image(api, media_id)
    api.dynamodb.update_item(
        TableName=TABLE,
        Key={"mediaId": {"S": media_id}},
        UpdateExpression="SET #key = :key",
        ExpressionAttributeNames={"#key": "key"},
        ExpressionAttributeValues={":key": {"S": key}},
    )
    api.s3.put_object(Bucket=BUCKET, Key=key, Body=b"someone else's")
    before = api.item(media_id)

    status, answer = api.call("DELETE", f"/media/{media_id}")

    assert (status, answer["error"]["code"]) == (404, "NotFound")
    assert api.s3.get_object(Bucket=BUCKET, Key=key)["Body"].read() == b"someone else's"
    assert api.item(media_id) == before


def test_complete_passes_each_parts_checksum_as_listparts_reports_it(api: Api) -> None:
    created = api.upload(size=9 * MIB)
    media_id, key = created["mediaId"], created["key"]
    upload_id = api.s3.list_multipart_uploads(Bucket=BUCKET)["Uploads"][0]["UploadId"]
    data = [b"\x01" * (5 * MIB), b"\x02" * (4 * MIB)]
    for n, part in enumerate(data, start=1):
        api.s3.upload_part(
            Bucket=BUCKET, Key=key, UploadId=upload_id, PartNumber=n, Body=part,
            ChecksumSHA256=part_checksum(part),
        )  # fmt: skip
    client = api.module.s3
    sent: list[dict[str, Any]] = []

    def as_s3_lists_parts(parsed: dict[str, Any], **_: Any) -> None:
        # S3's ListParts reports each part's checksum for an upload created with SHA256;
        # moto's leaves it out.
        for part in parsed.get("Parts", []):
            part["ChecksumSHA256"] = part_checksum(data[part["PartNumber"] - 1])

    def keep(params: dict[str, Any], **_: Any) -> None:
        sent.append(params)

    client.meta.events.register("after-call.s3.ListParts", as_s3_lists_parts)
    client.meta.events.register("before-parameter-build.s3.CompleteMultipartUpload", keep)

    assert api.call("POST", f"/uploads/{media_id}/complete")[0] == 200
    [params] = sent
    assert [
        (part["PartNumber"], part["ChecksumSHA256"]) for part in params["MultipartUpload"]["Parts"]
    ] == [(1, part_checksum(data[0])), (2, part_checksum(data[1]))]


# --- the rest --------------------------------------------------------------------------------


def test_the_openapi_document_is_served_without_authorization(api: Api) -> None:
    status, document = api.call("GET", "/openapi.json", username=None, groups=None)

    assert status == 200
    assert document == json.loads((ROOT / "docs" / "openapi.json").read_text())


def test_an_unknown_route_is_a_404_in_the_error_shape(api: Api) -> None:
    status, answer = api.call("GET", "/nowhere")

    assert (status, answer["error"]["code"]) == (404, "NotFound")


@pytest.mark.parametrize(
    "content_type",
    [
        "multipart/form-data",
        "multipart/form-data; boundary=x",
        "application/x-www-form-urlencoded",
        "Multipart/Form-Data",
    ],
)
def test_a_form_is_a_400_never_a_500(api: Api, content_type: str) -> None:
    body = {"contentType": "image/jpeg", "size": 1, "sha256": JPEG_SHA256}
    for path in ("/uploads", f"/uploads/{'0' * 64}/parts"):
        status, answer = api.call("POST", path, body=body, headers={"content-type": content_type})

        assert status == 400, (path, answer)
        assert answer["error"]["code"] == "ValidationError"
        assert "JSON" in answer["error"]["message"]
