"""POST Object, a browser-based upload, as S3 takes it (POST_OBJECT, BROWSER_UPLOADS): the
form's fields, its Signature Version 4 authority (POST_SIGNATURE), its policy (post_policy.py),
the file checked against the policy's size range and the form's checksum, and the PutObject
that stores what S3 would store. The gateway sends that PutObject to the emulator and answers
the form as S3 does (204, or `success_action_status` 200/201, or a 303 to
`success_action_redirect`).

S3 checks in this order (S3's observed order): the form's encoding, the `key` field, the signing
fields, the signature over the policy as sent, the policy document, its expiration, each
condition, the fields no condition covers; the file's size and checksum once it has arrived.
Pages named in capitals are s3_errors' constants.
"""

from __future__ import annotations

import base64
import re
import xml.etree.ElementTree as ElementTree
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import quote, urlencode, urlsplit
from xml.sax.saxutils import escape

from mediaflow.localcloud import upload_checksums
from mediaflow.localcloud.form_data import FormReader, Part, boundary_of
from mediaflow.localcloud.post_policy import PostPolicy, SizeRange, field_values
from mediaflow.localcloud.request_body import RequestBody, Spooled
from mediaflow.localcloud.s3_errors import (
    S3Error,
    access_denied,
    invalid_argument,
    unsupported_signature,
)
from mediaflow.localcloud.sigv4 import (
    ALGORITHM,
    CredentialFault,
    Scope,
    check_policy_signature,
    parse_amz_date,
    unknown_access_key,
)

# The fields that sign a form, in the order S3 names the first one missing (observed).
_SIGNING = ("X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date", "X-Amz-Signature", "Policy")
# Fields that stand for PutObject's headers of the same names: "The REST-specific headers"
# and Content-MD5 (POST_OBJECT); every other x-amz-* field but the signing ones likewise.
_REST_HEADERS = (
    "cache-control",
    "content-disposition",
    "content-encoding",
    "content-language",
    "content-md5",
    "content-type",
    "expires",
)
_NOT_HEADERS = frozenset(
    {
        "x-amz-algorithm",
        "x-amz-credential",
        "x-amz-date",
        "x-amz-signature",
        "x-amz-security-token",
        "x-amz-checksum-algorithm",
    }
)


def _missing(name: str) -> S3Error:
    # ERROR_RESPONSES names this UserKeyMustBeSpecified; S3 answers InvalidArgument (observed).
    return invalid_argument(
        f"Bucket POST must contain a field named '{name}'.  If it is specified, please check "
        "the order of the fields.",
        name,
        "",
    )


@dataclass
class FormUpload:
    """What a form S3 accepts stores: PutObject's key and headers, the file, and how to answer."""

    bucket: str
    key: str
    headers: dict[str, str]
    content: Spooled
    status: str
    redirect: str


def read_form(
    bucket: str,
    content_type: str,
    body: RequestBody,
    credentials: Mapping[str, str],
    region: str,
    now: datetime,
) -> FormUpload:
    """Reads and checks a POST form to `bucket`; raises S3Error for what S3 refuses."""
    if not body.declared:
        raise S3Error(
            "MissingContentLength", "You must provide the Content-Length HTTP header.", 411
        )
    form = FormReader(body, boundary_of(content_type))
    fields, file_part = form.fields()
    fields = _expanded(fields, file_part)
    values = field_values(fields)
    size = _authorize(fields, values, bucket, credentials, region, now)
    if file_part is None:
        form.files_after()
        raise invalid_argument("POST requires exactly one file upload per request.", "file", "0")
    checksums = {name: value for name, value in values.items() if name in _CHECKED}
    content = Spooled(upload_checksums.needed(checksums), limit=size.high)
    try:
        form.file_into(content.write)
        more = form.files_after()
        if more:
            raise invalid_argument(
                "POST requires exactly one file upload per request.", "file", str(more + 1)
            )
        size.check(content.size)
        upload_checksums.verify(checksums, content.digests)
    except BaseException:
        content.close()
        raise
    return FormUpload(
        bucket,
        values["key"],
        _put_headers(values),
        content.finish(),
        values.get("success_action_status", ""),
        values.get("success_action_redirect") or values.get("redirect", ""),
    )


_CHECKED = frozenset(
    {
        "content-md5",
        "x-amz-checksum-algorithm",
        "x-amz-checksum-crc32",
        "x-amz-checksum-crc32c",
        "x-amz-checksum-crc64nvme",
        "x-amz-checksum-sha1",
        "x-amz-checksum-sha256",
    }
)


def _expanded(fields: list[tuple[str, str]], file_part: Part | None) -> list[tuple[str, str]]:
    """`${filename}` "is automatically replaced with the name of the file provided by the user
    and is recognized by all form fields ... only the text following the last slash (/) or
    backslash (\\) is used" (POST_FORMS). A file part sent without a file name leaves the
    variable as it is, as S3 does (observed)."""
    if file_part is None or file_part.filename is None:
        return fields
    name = re.split(r"[\\/]", file_part.filename)[-1]
    return [(field, value.replace("${filename}", name)) for field, value in fields]


def _authorize(
    fields: Sequence[tuple[str, str]],
    values: Mapping[str, str],
    bucket: str,
    credentials: Mapping[str, str],
    region: str,
    now: datetime,
) -> SizeRange:
    if not values.get("key"):
        raise _missing("key")
    if "awsaccesskeyid" in values or "signature" in values:
        raise unsupported_signature()
    if not any(name.lower() in values for name in _SIGNING[:4]):
        # "Requests without a security policy are considered anonymous and work only on
        # publicly writable buckets" (POST_OBJECT); the media bucket blocks public access.
        raise access_denied()
    for name in _SIGNING:
        if name.lower() not in values:
            raise _missing(name)
    algorithm = values["x-amz-algorithm"]
    if algorithm != ALGORITHM:
        raise invalid_argument(
            'X-Amz-Algorithm only supports "AWS4-HMAC-SHA256"', "X-Amz-Algorithm", algorithm
        )
    if parse_amz_date(values["x-amz-date"]) is None:
        raise invalid_argument(
            "X-Amz-Date must be formated via ISO8601 Long format",
            "X-Amz-Date",
            values["x-amz-date"],
        )
    credential = values["x-amz-credential"]
    try:
        scope = Scope.parse(credential, region)
    except CredentialFault as fault:
        raise invalid_argument(
            fault.message, "X-Amz-Credential", credential, *fault.details
        ) from None
    secret = credentials.get(scope.access_key)
    if secret is None:
        raise unknown_access_key(scope.access_key)
    # The signature is of the policy as sent, checked before the policy is read: a policy
    # changed after signing is SignatureDoesNotMatch, not InvalidPolicyDocument (observed).
    check_policy_signature(values["policy"], values["x-amz-signature"], scope, secret)
    return PostPolicy.decode(values["policy"]).check(fields, bucket, now)


def _header_value(value: str) -> str:
    """Non-ASCII values go as RFC 2047 encoded-words, as S3 stores and returns user-defined
    metadata sent through POST (USER_METADATA)."""
    if value.isascii():
        return value
    return f"=?UTF-8?B?{base64.b64encode(value.encode()).decode()}?="


def _put_headers(values: Mapping[str, str]) -> dict[str, str]:
    """PutObject's headers for a form: "Parameters that are passed to PUT through HTTP headers
    are instead passed as form fields to POST" (POST_OBJECT)."""
    headers = {
        name: _header_value(value)
        for name, value in values.items()
        if name in _REST_HEADERS or (name.startswith("x-amz-") and name not in _NOT_HEADERS)
    }
    if "acl" in values:
        headers["x-amz-acl"] = values["acl"]
    if "tagging" in values:
        headers["x-amz-tagging"] = _tag_query(values["tagging"])
    algorithm = upload_checksums.checksum_algorithm(values)
    if algorithm is not None:
        # S3 records the checksum an upload names; the emulator records it only when told the
        # algorithm as the SDK tells it.
        headers["x-amz-sdk-checksum-algorithm"] = algorithm.upper()
    return headers


def _tag_query(document: str) -> str:
    """The form's `tagging` XML (`<Tagging><TagSet><Tag><Key>..</Key><Value>..</Value></Tag>`,
    POST_OBJECT) as PutObject's `x-amz-tagging` query string."""
    try:
        root = ElementTree.fromstring(document)
    except ElementTree.ParseError:
        raise S3Error(
            "MalformedXML",
            "The XML you provided was not well-formed or did not validate against our "
            "published schema",
            400,
        ) from None
    tags = []
    for tag in root.iter():
        if tag.tag.rpartition("}")[2] == "Tag":
            parts = {child.tag.rpartition("}")[2]: child.text or "" for child in tag}
            tags.append((parts.get("Key", ""), parts.get("Value", "")))
    return urlencode(tags)


def answer(
    upload: FormUpload, stored: Mapping[str, str], host: str
) -> tuple[int, list[tuple[str, str]], bytes]:
    """S3's answer to a stored form (`stored`: the PutObject answer's headers, lower-case):
    ETag, Location (the object's URL, its key encoded, `/` too), the version and checksum."""
    etag = stored.get("etag", "")
    location = f"http://{host}/{upload.bucket}/{quote(upload.key, safe='')}"
    headers = [("ETag", etag), ("Location", location)]
    for name in stored:
        if name == "x-amz-version-id" or name.startswith(("x-amz-checksum-", "x-amz-server-side")):
            headers.append((name, stored[name]))
    redirect = urlsplit(upload.redirect)
    # "If Amazon S3 cannot interpret the URL, it acts as if the field is not present" (POST_FORMS).
    if redirect.scheme in ("http", "https") and redirect.netloc:
        added = urlencode({"bucket": upload.bucket, "key": upload.key, "etag": etag})
        joiner = "&" if redirect.query else "?"
        target = upload.redirect.split("#", 1)[0]
        return 303, [*headers[:1], ("Location", f"{target}{joiner}{added}")], b""
    # "This field accepts the values 200, 201, or 204 (the default) ... If the value is set to
    # 201, Amazon S3 returns an XML document with a 201 status code" (POST_FORMS).
    if upload.status == "201":
        document = (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            f"<PostResponse><Location>{escape(location)}</Location>"
            f"<Bucket>{escape(upload.bucket)}</Bucket><Key>{escape(upload.key)}</Key>"
            f"<ETag>{escape(etag)}</ETag></PostResponse>"
        ).encode()
        return 201, [*headers, ("Content-Type", "application/xml")], document
    return (200 if upload.status == "200" else 204), headers, b""
