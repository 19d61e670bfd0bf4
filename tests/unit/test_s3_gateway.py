"""The local S3 gateway against a real moto server, over real sockets, with what boto3 presigns:
what S3 accepts is stored (and raises its EventBridge event), what S3 refuses is answered with
S3's code and status and stores nothing."""

from __future__ import annotations

import base64
import hashlib
import json
import time
import uuid
import xml.etree.ElementTree as ElementTree
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import boto3
import pytest
import requests
from botocore.config import Config
from moto import mock_aws
from moto.server import ThreadedMotoServer

from mediaflow.localcloud import moto_patches
from mediaflow.localcloud.s3_gateway import S3Gateway

BUCKET = "mediaflow-local-media"
REGION = "us-east-1"
PHOTO = bytes(range(256)) * 40


def s3_client(endpoint: str, config: Config | None = None) -> Any:
    """An S3 client with the credentials the local cloud gives ApiFunction's sandbox."""
    return boto3.client(
        "s3",
        region_name=REGION,
        endpoint_url=endpoint,
        aws_access_key_id="local",
        aws_secret_access_key="local",
        aws_session_token="local",
        config=config,
    )


def sha256_b64(content: bytes) -> str:
    return base64.b64encode(hashlib.sha256(content).digest()).decode()


class Clock:
    """The gateway's clock, moved ahead by a test to expire what it was given."""

    def __init__(self) -> None:
        self.ahead = 0.0

    def __call__(self) -> float:
        return time.time() + self.ahead


@dataclass
class LocalS3:
    url: str
    clock: Clock
    emulator: Any  # reads what moto holds, around the gateway
    presigner: Any  # presigns as ApiFunction does: SigV4, the sandbox's credentials
    sdk: Any  # the SDK's own calls, through the gateway
    events: list[dict[str, Any]] = field(default_factory=list)

    def presigned_post(
        self, key: str, content: bytes, *, fields: dict[str, str] | None = None, **kwargs: Any
    ) -> dict[str, Any]:
        """A POST pinned as ApiFunction pins one: key, exact size, type, checksum, device."""
        pinned = {
            "Content-Type": "image/jpeg",
            "x-amz-checksum-sha256": sha256_b64(content),
            "x-amz-meta-device-id": "device-1",
            **(fields or {}),
        }
        conditions: list[Any] = [{name: value} for name, value in pinned.items()]
        conditions.append(["content-length-range", len(content), len(content)])
        post: dict[str, Any] = self.presigner.generate_presigned_post(
            BUCKET, key, Fields=pinned, Conditions=conditions, ExpiresIn=900, **kwargs
        )
        return post

    def versions(self, key: str) -> list[dict[str, Any]]:
        listed = self.emulator.list_object_versions(Bucket=BUCKET, Prefix=key)
        return [version for version in listed.get("Versions", []) if version["Key"] == key]

    def created(self, key: str) -> list[dict[str, Any]]:
        return [
            event
            for event in self.events
            if event["detail-type"] == "Object Created" and event["detail"]["object"]["key"] == key
        ]


@pytest.fixture(scope="module")
def local_s3_server() -> Iterator[LocalS3]:
    with mock_aws():
        server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        server.start()
        host, port = server.get_host_and_port()
        upstream = f"http://{host}:{port}"
        clock = Clock()
        gateway = S3Gateway(upstream, {"local": "local"}, REGION, clock=clock)
        url = gateway.start()
        emulator = s3_client(upstream)
        emulator.create_bucket(Bucket=BUCKET)
        emulator.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
        emulator.put_bucket_notification_configuration(
            Bucket=BUCKET, NotificationConfiguration={"EventBridgeConfiguration": {}}
        )
        presigner = s3_client(url, Config(signature_version="s3v4"))
        sdk = s3_client(url)
        local = LocalS3(url, clock, emulator, presigner, sdk)
        # S3's events as the local cloud's hub receives them (moto_patches), here collected.
        moto_patches.apply_to_services()
        moto_patches.event_bus["publish"] = local.events.append
        try:
            yield local
        finally:
            moto_patches.event_bus.pop("publish", None)
            gateway.stop()
            server.stop()


@pytest.fixture
def local_s3(local_s3_server: LocalS3) -> Iterator[LocalS3]:
    local_s3_server.clock.ahead = 0.0
    yield local_s3_server
    local_s3_server.clock.ahead = 0.0


def new_key(name: str = "photo.jpg") -> str:
    return f"uploads/device-1/{uuid.uuid4().hex}/{name}"


def post_form(
    post: dict[str, Any],
    content: bytes,
    filename: str = "photo.jpg",
    changes: dict[str, str | None] | None = None,
) -> requests.Response:
    """The form as a browser sends it: the fields in order, then the file. `changes` sets
    (or, with None, drops) fields; a name's `_` stands for `-`."""
    fields = dict(post["fields"])
    for name, value in (changes or {}).items():
        name = name.replace("_", "-")
        if value is None:
            fields.pop(name, None)
        else:
            fields[name] = value
    return requests.post(
        post["url"],
        data=list(fields.items()),
        files={"file": (filename, content)},
        allow_redirects=False,
        timeout=30,
    )


def s3_error(response: requests.Response) -> tuple[int, str, str]:
    root = ElementTree.fromstring(response.content)
    return response.status_code, root.findtext("Code", ""), root.findtext("Message", "")


# -- POST Object: accepted --------------------------------------------------------------------


def test_a_form_within_its_policy_stores_the_object_as_putobject_would(local_s3: LocalS3) -> None:
    key = new_key()
    post = local_s3.presigned_post(key, PHOTO, fields={"x-amz-meta-captured-at": "2026-01-02"})

    response = post_form(post, PHOTO)

    assert response.status_code == 204, response.text
    assert response.content == b""
    assert response.headers["ETag"] == f'"{hashlib.md5(PHOTO).hexdigest()}"'
    assert response.headers["Location"].endswith(f"/{BUCKET}/{key.replace('/', '%2F')}")
    head = local_s3.emulator.head_object(Bucket=BUCKET, Key=key, ChecksumMode="ENABLED")
    assert head["VersionId"] == response.headers["x-amz-version-id"]
    assert head["ContentLength"] == len(PHOTO)
    assert head["ContentType"] == "image/jpeg"
    assert head["ChecksumSHA256"] == sha256_b64(PHOTO)
    assert head["Metadata"] == {"device-id": "device-1", "captured-at": "2026-01-02"}
    body = local_s3.emulator.get_object(Bucket=BUCKET, Key=key)["Body"].read()
    assert body == PHOTO
    assert len(local_s3.created(key)) == 1


@pytest.mark.parametrize(("status", "code"), [("200", 200), ("201", 201), ("404", 204)])
def test_success_action_status_is_honoured(local_s3: LocalS3, status: str, code: int) -> None:
    key = new_key()
    post = local_s3.presigned_post(key, PHOTO, fields={"success_action_status": status})

    response = post_form(post, PHOTO)

    assert response.status_code == code, response.text
    if code == 201:
        document = ElementTree.fromstring(response.content)
        assert document.tag == "PostResponse"
        assert document.findtext("Bucket") == BUCKET
        assert document.findtext("Key") == key
        assert document.findtext("ETag") == response.headers["ETag"]
    else:
        assert response.content == b""
    assert len(local_s3.versions(key)) == 1


def test_the_file_name_fills_in_the_key(local_s3: LocalS3) -> None:
    folder = new_key("")
    post = local_s3.presigner.generate_presigned_post(BUCKET, folder + "${filename}", ExpiresIn=900)

    response = post_form(post, PHOTO, filename="C:\\Users\\me\\IMG_0001.jpg")

    assert response.status_code == 204, response.text
    assert len(local_s3.versions(folder + "IMG_0001.jpg")) == 1


def test_ignored_fields_and_fields_after_the_file_need_no_condition(local_s3: LocalS3) -> None:
    key = new_key()
    post = local_s3.presigned_post(key, PHOTO)
    body = [*post["fields"].items(), ("x-ignore-client", "phone")]
    # `requests` sends data fields before files: the part after the file is written by hand.
    boundary = "gateway-test-boundary"
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        for name, value in body
    ]
    parts.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.jpg"\r\n'
        "Content-Type: image/jpeg\r\n\r\n".encode()
        + PHOTO
        + f'\r\n--{boundary}\r\nContent-Disposition: form-data; name="submit"\r\n\r\n'
        f"Upload\r\n--{boundary}--\r\n".encode()
    )
    response = requests.post(
        post["url"],
        data=b"".join(parts),
        headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
        timeout=30,
    )

    assert response.status_code == 204, response.text
    assert len(local_s3.versions(key)) == 1


def test_a_redirect_tags_and_unicode_metadata_are_taken_as_s3_takes_them(
    local_s3: LocalS3,
) -> None:
    key = new_key()
    redirect = "http://127.0.0.1:9/uploaded?from=phone"
    tagging = (
        "<Tagging><TagSet><Tag><Key>source</Key><Value>field recorder</Value></Tag>"
        "</TagSet></Tagging>"
    )
    post = local_s3.presigned_post(
        key,
        PHOTO,
        fields={
            "success_action_redirect": redirect,
            "tagging": tagging,
            "x-amz-meta-place": "Zürich",
        },
    )

    response = post_form(post, PHOTO, filename="a.jpg")

    assert response.status_code == 303, response.text
    etag = hashlib.md5(PHOTO).hexdigest()
    assert response.headers["Location"] == (
        f"{redirect}&bucket={BUCKET}&key={key.replace('/', '%2F')}&etag=%22{etag}%22"
    )
    tags = local_s3.emulator.get_object_tagging(Bucket=BUCKET, Key=key)["TagSet"]
    assert tags == [{"Key": "source", "Value": "field recorder"}]
    metadata = local_s3.emulator.head_object(Bucket=BUCKET, Key=key)["Metadata"]
    assert metadata["place"] == "=?UTF-8?B?WsO8cmljaA==?="


# -- POST Object: refused ---------------------------------------------------------------------


def tampered_policy(post: dict[str, Any]) -> str:
    policy = json.loads(base64.b64decode(post["fields"]["policy"]))
    for condition in policy["conditions"]:
        if isinstance(condition, list) and condition[0] == "content-length-range":
            condition[2] = 10 * condition[2]
    return base64.b64encode(json.dumps(policy).encode()).decode()


@pytest.mark.parametrize(
    ("changes", "status", "code", "message"),
    [
        pytest.param(
            {"x_amz_signature": "0" * 64},
            403,
            "SignatureDoesNotMatch",
            "The request signature we calculated does not match",
            id="wrong signature",
        ),
        pytest.param(
            {"policy": "tampered"},
            403,
            "SignatureDoesNotMatch",
            "The request signature we calculated does not match",
            id="tampered policy",
        ),
        pytest.param(
            {"key": "uploads/device-2/elsewhere.jpg"},
            403,
            "AccessDenied",
            'Invalid according to Policy: Policy Condition failed: ["eq", "$key", ',
            id="another key",
        ),
        pytest.param(
            {"Content-Type": "image/png"},
            403,
            "AccessDenied",
            'Policy Condition failed: ["eq", "$Content-Type", "image/jpeg"]',
            id="another content type",
        ),
        pytest.param(
            {"x_amz_meta_note": "hello"},
            403,
            "AccessDenied",
            "Invalid according to Policy: Extra input fields: x-amz-meta-note",
            id="a field not in the policy",
        ),
        pytest.param(
            {"x_amz_checksum_sha256": None},
            403,
            "AccessDenied",
            'Policy Condition failed: ["eq", "$x-amz-checksum-sha256", ',
            id="no checksum where the policy pins one",
        ),
        pytest.param(
            {"key": None},
            400,
            "InvalidArgument",
            "Bucket POST must contain a field named 'key'.",
            id="no key",
        ),
        pytest.param(
            {"x_amz_signature": None},
            400,
            "InvalidArgument",
            "Bucket POST must contain a field named 'X-Amz-Signature'.",
            id="no signature",
        ),
        pytest.param(
            {"x_amz_credential": "local/20260101/eu-west-1/s3/aws4_request"},
            400,
            "InvalidArgument",
            "the region 'eu-west-1' is wrong; expecting 'us-east-1'",
            id="another region",
        ),
        pytest.param(
            {"x_amz_credential": "someone/20260101/us-east-1/s3/aws4_request"},
            403,
            "InvalidAccessKeyId",
            "The AWS Access Key Id you provided does not exist in our records.",
            id="unknown access key",
        ),
        pytest.param(
            {"x_ignore_padding": "x" * 21000},
            400,
            "MaxPostPreDataLengthExceeded",
            "Your POST request fields preceeding the upload file was too large.",
            id="fields beyond 20 KB",
        ),
    ],
)
def test_a_form_outside_its_policy_is_refused_and_nothing_stored(
    local_s3: LocalS3,
    changes: dict[str, str | None],
    status: int,
    code: str,
    message: str,
) -> None:
    key = new_key()
    post = local_s3.presigned_post(key, PHOTO)
    if changes.get("policy") == "tampered":
        changes = {"policy": tampered_policy(post)}

    response = post_form(post, PHOTO, changes=changes)

    assert s3_error(response)[:2] == (status, code)
    assert message in s3_error(response)[2]
    assert local_s3.versions(key) == []
    assert local_s3.created(key) == []


def test_an_expired_policy_is_refused(local_s3: LocalS3) -> None:
    key = new_key()
    post = local_s3.presigned_post(key, PHOTO)
    local_s3.clock.ahead = 901

    response = post_form(post, PHOTO)

    assert s3_error(response) == (
        403,
        "AccessDenied",
        "Invalid according to Policy: Policy expired.",
    )
    assert local_s3.versions(key) == []


@pytest.mark.parametrize(
    ("content", "code", "bound"),
    [
        pytest.param(PHOTO + b"!", "EntityTooLarge", "MaxSizeAllowed", id="larger"),
        pytest.param(PHOTO[:-1], "EntityTooSmall", "MinSizeAllowed", id="smaller"),
    ],
)
def test_a_file_outside_the_size_range_is_refused(
    local_s3: LocalS3, content: bytes, code: str, bound: str
) -> None:
    key = new_key()
    post = local_s3.presigned_post(key, PHOTO)

    response = post_form(post, content)

    assert s3_error(response)[:2] == (400, code)
    document = ElementTree.fromstring(response.content)
    assert document.findtext("ProposedSize") == str(len(content))
    assert document.findtext(bound) == str(len(PHOTO))
    assert local_s3.versions(key) == []
    assert local_s3.created(key) == []


def test_bytes_other_than_the_checksum_names_are_refused(local_s3: LocalS3) -> None:
    key = new_key()
    post = local_s3.presigned_post(key, PHOTO)
    other = bytes(reversed(PHOTO))

    response = post_form(post, other)

    assert s3_error(response) == (
        400,
        "BadDigest",
        "The SHA256 you specified did not match the calculated checksum.",
    )
    assert local_s3.versions(key) == []


def test_refused_forms_of_other_kinds(local_s3: LocalS3) -> None:
    key = new_key()
    post = local_s3.presigned_post(key, PHOTO)
    no_file = requests.post(post["url"], files=list(post["fields"].items()), timeout=30)
    not_a_form = requests.post(post["url"], data=b"{}", timeout=30)
    anonymous = requests.post(
        post["url"], data={"key": key}, files={"file": ("a.jpg", PHOTO)}, timeout=30
    )
    signature_v2 = s3_client(local_s3.url)
    old_post = signature_v2.generate_presigned_post(BUCKET, key, ExpiresIn=900)

    assert s3_error(no_file)[:2] == (400, "InvalidArgument")
    assert s3_error(not_a_form)[:2] == (412, "PreconditionFailed")
    assert s3_error(anonymous)[:2] == (403, "AccessDenied")
    assert s3_error(post_form(old_post, PHOTO))[:2] == (400, "InvalidRequest")
    assert local_s3.versions(key) == []


# -- presigned URLs -------------------------------------------------------------------------------


def presigned_put(local_s3: LocalS3, key: str, content: bytes, **params: Any) -> str:
    url: str = local_s3.presigner.generate_presigned_url(
        "put_object",
        Params={
            "Bucket": BUCKET,
            "Key": key,
            "ContentType": "image/jpeg",
            "ChecksumSHA256": sha256_b64(content),
            **params,
        },
        ExpiresIn=900,
    )
    return url


def put_headers(content: bytes, **more: str) -> dict[str, str]:
    return {"Content-Type": "image/jpeg", "x-amz-checksum-sha256": sha256_b64(content), **more}


def test_a_presigned_put_stores_the_object_with_its_checksum(local_s3: LocalS3) -> None:
    key = new_key()
    url = presigned_put(local_s3, key, PHOTO)

    response = requests.put(url, data=PHOTO, headers=put_headers(PHOTO), timeout=30)

    assert response.status_code == 200, response.text
    head = local_s3.emulator.head_object(Bucket=BUCKET, Key=key, ChecksumMode="ENABLED")
    assert head["ContentType"] == "image/jpeg"
    assert head["ChecksumSHA256"] == sha256_b64(PHOTO)
    assert len(local_s3.created(key)) == 1


def test_a_presigned_get_serves_the_object_until_it_expires(local_s3: LocalS3) -> None:
    key = new_key()
    local_s3.emulator.put_object(Bucket=BUCKET, Key=key, Body=PHOTO)
    url = local_s3.presigner.generate_presigned_url(
        "get_object", Params={"Bucket": BUCKET, "Key": key}, ExpiresIn=300
    )

    served = requests.get(url, timeout=30)
    local_s3.clock.ahead = 301
    expired = requests.get(url, timeout=30)

    assert served.status_code == 200
    assert served.content == PHOTO
    assert s3_error(expired) == (403, "AccessDenied", "Request has expired")
    assert ElementTree.fromstring(expired.content).findtext("X-Amz-Expires") == "300"


def with_query(url: str, **changes: str) -> str:
    head, _, query = url.partition("?")
    pairs = dict(item.split("=", 1) for item in query.split("&"))
    pairs.update(changes)
    return head + "?" + "&".join(f"{name}={value}" for name, value in pairs.items())


@pytest.mark.parametrize(
    ("change", "status", "code"),
    [
        pytest.param("signature", 403, "SignatureDoesNotMatch", id="wrong signature"),
        pytest.param("key", 403, "SignatureDoesNotMatch", id="another key"),
        pytest.param("content type", 403, "SignatureDoesNotMatch", id="another content type"),
        pytest.param("unsigned header", 403, "AccessDenied", id="a header not signed"),
        pytest.param("expired", 403, "AccessDenied", id="expired"),
        pytest.param("a week", 400, "AuthorizationQueryParametersError", id="over a week"),
        pytest.param("wrong bytes", 400, "BadDigest", id="bytes of another checksum"),
    ],
)
def test_a_presigned_put_outside_its_signature_is_refused_and_nothing_stored(
    local_s3: LocalS3, change: str, status: int, code: str
) -> None:
    key = new_key()
    url = presigned_put(local_s3, key, PHOTO)
    content, headers = PHOTO, put_headers(PHOTO)
    if change == "signature":
        url = with_query(url, **{"X-Amz-Signature": "0" * 64})
    elif change == "key":
        url = url.replace(key, new_key())
    elif change == "content type":
        headers["Content-Type"] = "image/png"
    elif change == "unsigned header":
        headers["x-amz-meta-note"] = "hello"
    elif change == "expired":
        local_s3.clock.ahead = 901
    elif change == "a week":
        url = local_s3.presigner.generate_presigned_url(
            "put_object", Params={"Bucket": BUCKET, "Key": key}, ExpiresIn=604801
        )
        headers = {}
    elif change == "wrong bytes":
        content = bytes(reversed(PHOTO))

    response = requests.put(url, data=content, headers=headers, timeout=30)

    assert s3_error(response)[:2] == (status, code)
    assert local_s3.versions(key) == []


def test_multipart_parts_are_checked_and_complete_into_the_object(local_s3: LocalS3) -> None:
    key = new_key("recording.wav")
    parts = [b"a" * (5 * 1024 * 1024), b"tail of the recording"]
    upload_id = local_s3.sdk.create_multipart_upload(
        Bucket=BUCKET, Key=key, ContentType="audio/wav", ChecksumAlgorithm="SHA256"
    )["UploadId"]

    def part_url(number: int, content: bytes) -> str:
        url: str = local_s3.presigner.generate_presigned_url(
            "upload_part",
            Params={
                "Bucket": BUCKET,
                "Key": key,
                "UploadId": upload_id,
                "PartNumber": number,
                "ChecksumSHA256": sha256_b64(content),
            },
            ExpiresIn=900,
        )
        return url

    def send(number: int, content: bytes, sent: bytes) -> requests.Response:
        return requests.put(
            part_url(number, content),
            data=sent,
            headers={"x-amz-checksum-sha256": sha256_b64(content)},
            timeout=60,
        )

    corrupted = send(2, parts[1], parts[1].upper())
    listed = local_s3.sdk.list_parts(Bucket=BUCKET, Key=key, UploadId=upload_id)
    sent = [send(number, content, content) for number, content in enumerate(parts, 1)]
    again = send(1, parts[0], parts[0])
    completed = local_s3.sdk.complete_multipart_upload(
        Bucket=BUCKET,
        Key=key,
        UploadId=upload_id,
        MultipartUpload={
            "Parts": [
                {"PartNumber": number, "ETag": response.headers["ETag"]}
                for number, response in enumerate(sent, 1)
            ]
        },
    )

    assert s3_error(corrupted) == (
        400,
        "BadDigest",
        "The SHA256 you specified did not match the calculated checksum.",
    )
    assert listed.get("Parts", []) == []
    assert [response.status_code for response in [*sent, again]] == [200, 200, 200]
    assert completed["Key"] == key
    body = local_s3.emulator.get_object(Bucket=BUCKET, Key=key)["Body"].read()
    assert body == b"".join(parts)


def test_the_sdks_own_calls_pass_through(local_s3: LocalS3) -> None:
    key = new_key()
    local_s3.sdk.put_object(Bucket=BUCKET, Key=key, Body=PHOTO, ContentType="image/jpeg")

    listed = local_s3.sdk.list_objects_v2(Bucket=BUCKET, Prefix=key)
    head = local_s3.sdk.head_object(Bucket=BUCKET, Key=key)
    local_s3.sdk.delete_object(Bucket=BUCKET, Key=key)

    assert [item["Key"] for item in listed["Contents"]] == [key]
    assert head["ContentLength"] == len(PHOTO)
    assert local_s3.sdk.list_objects_v2(Bucket=BUCKET, Prefix=key)["KeyCount"] == 0


def test_an_unsigned_request_is_refused(local_s3: LocalS3) -> None:
    key = new_key()
    local_s3.emulator.put_object(Bucket=BUCKET, Key=key, Body=PHOTO)

    response = requests.get(f"{local_s3.url}/{BUCKET}/{key}", timeout=30)

    assert s3_error(response) == (403, "AccessDenied", "Access Denied")


def test_a_device_retrying_on_its_connection_after_a_refusal_is_served(
    local_s3: LocalS3,
) -> None:
    key = new_key()
    post = local_s3.presigned_post(key, PHOTO)
    fields = list(post["fields"].items())

    with requests.Session() as session:
        refused = session.post(
            post["url"], data=fields, files={"file": ("a.jpg", PHOTO[:-1])}, timeout=30
        )
        accepted = session.post(
            post["url"], data=fields, files={"file": ("a.jpg", PHOTO)}, timeout=30
        )

    assert s3_error(refused)[:2] == (400, "EntityTooSmall")
    assert accepted.status_code == 204, accepted.text
    assert len(local_s3.versions(key)) == 1


@pytest.mark.parametrize("name", ["a b+c~d.jpg", "Zürich (1).jpg", "50%=half?&.jpg"])
def test_keys_of_any_characters_are_signed_as_s3_signs_them(local_s3: LocalS3, name: str) -> None:
    key = new_key(name)
    put = requests.put(
        presigned_put(local_s3, key, PHOTO), data=PHOTO, headers=put_headers(PHOTO), timeout=30
    )
    get = requests.get(
        local_s3.presigner.generate_presigned_url(
            "get_object", Params={"Bucket": BUCKET, "Key": key}, ExpiresIn=60
        ),
        timeout=30,
    )

    assert put.status_code == 200, put.text
    assert get.content == PHOTO
