"""Signature Version 4 as S3 checks it: the signing key, the credential scope, the canonical
request of a presigned URL, and the checks S3 makes of a presigned URL before it serves it.

The local S3 gateway checks presigned URLs (query-string authentication) and signs the uploads
it stores for a POST form; POST policies are signed with the same key (post_object.py).
Pages named in capitals are s3_errors' constants.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import quote, unquote

from mediaflow.localcloud.s3_errors import S3Error, access_denied

ALGORITHM = "AWS4-HMAC-SHA256"
UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
AMZ_DATE = "%Y%m%dT%H%M%SZ"
_SERVER_TIME = "%Y-%m-%dT%H:%M:%SZ"
# "The minimum value you can set is 1, and the maximum is 604800 (seven days)" (QUERY_AUTH).
MAX_EXPIRES = 604800
# How far ahead of the clock a presigned URL's date may be: S3's allowed clock skew, 15 minutes.
_SKEW = timedelta(minutes=15)
QUERY_PARAMETERS = (
    "X-Amz-Algorithm",
    "X-Amz-Credential",
    "X-Amz-Signature",
    "X-Amz-Date",
    "X-Amz-SignedHeaders",
    "X-Amz-Expires",
)
_MISMATCH = (
    "The request signature we calculated does not match the signature you provided. "
    "Check your key and signing method."
)

Headers = Mapping[str, Sequence[str]]
"""A request's headers: lower-case name to every value sent under it, in order."""


def signing_key(secret: str, day: str, region: str, service: str = "s3") -> bytes:
    """kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, day), region), service), "aws4_request"),
    the same derivation for signed requests and POST policies (POST_SIGNATURE, HEADER_AUTH)."""
    key = f"AWS4{secret}".encode()
    for part in (day, region, service, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return key


def signature(key: bytes, text: str) -> str:
    return hmac.new(key, text.encode(), hashlib.sha256).hexdigest()


def spaced_hex(text: str) -> str:
    """Bytes as S3's `StringToSignBytes` and `CanonicalRequestBytes` show them."""
    return " ".join(f"{byte:02x}" for byte in text.encode())


def parse_amz_date(text: str) -> datetime | None:
    try:
        return datetime.strptime(text, AMZ_DATE).replace(tzinfo=UTC)
    except ValueError:
        return None


@dataclass(frozen=True)
class Scope:
    """`<access-key>/<yyyymmdd>/<region>/s3/aws4_request`, the credential a signature names."""

    access_key: str
    day: str
    region: str

    @property
    def text(self) -> str:
        return f"{self.day}/{self.region}/s3/aws4_request"

    @classmethod
    def parse(cls, credential: str, region: str) -> Scope:
        """The scope `credential` names, which must be this endpoint's region and S3; raises
        ValueError with S3's words (and the `Region` it expects) for each fault, in S3's order."""
        parts = credential.split("/")
        if len(parts) != 5:
            raise CredentialFault(
                "the Credential is mal-formed; expecting "
                '"<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request".'
            )
        access_key, day, scoped, service, terminal = parts
        if not access_key:
            raise CredentialFault(
                "a non-empty Access Key (AKID) must be provided in the credential."
            )
        if parse_amz_date(f"{day}T000000Z") is None:
            raise CredentialFault(
                f'incorrect date format "{day}". This date in the credential must be in the '
                'format "yyyyMMdd".'
            )
        # "The bucket must be in the region that you specified in the credential scope"
        # (POST_EXAMPLE); a presigned URL's scope likewise (QUERY_AUTH).
        if scoped != region:
            raise CredentialFault(
                f"the region '{scoped}' is wrong; expecting '{region}'", (("Region", region),)
            )
        if service != "s3":
            raise CredentialFault(f'incorrect service "{service}". This endpoint belongs to "s3".')
        if terminal != "aws4_request":
            raise CredentialFault(
                f'incorrect terminal "{terminal}". This endpoint uses "aws4_request".'
            )
        return cls(access_key, day, scoped)


class CredentialFault(ValueError):
    def __init__(self, message: str, details: Sequence[tuple[str, str]] = ()) -> None:
        super().__init__(message)
        self.message = message
        self.details = tuple(details)


def unknown_access_key(access_key: str) -> S3Error:
    return S3Error(
        "InvalidAccessKeyId",
        "The AWS Access Key Id you provided does not exist in our records.",
        403,
        (("AWSAccessKeyId", access_key),),
    )


def _uri_encode(text: str) -> str:
    # SigV4's URI encoding: every byte but A-Z a-z 0-9 - . _ ~ as %XY, upper-case (HEADER_AUTH).
    return quote(text, safe="-_.~")


def query_pairs(raw_query: str) -> list[tuple[str, str]]:
    """The parameters of a query string, decoded, in the order sent (a name alone has "")."""
    pairs = []
    for item in raw_query.split("&"):
        if item:
            name, _, value = item.partition("=")
            pairs.append((unquote(name), unquote(value)))
    return pairs


def canonical_request(
    method: str,
    raw_path: str,
    pairs: Sequence[tuple[str, str]],
    headers: Headers,
    signed_headers: Sequence[str],
    payload_hash: str,
) -> str:
    """HTTPMethod, CanonicalURI, CanonicalQueryString, CanonicalHeaders, SignedHeaders and the
    payload hash, one a line (HEADER_AUTH). S3 takes the path as sent, without normalising it;
    every query parameter but the signature is URI-encoded and sorted by name, then value; each
    signed header is its values trimmed, inner runs of spaces made one, joined by commas."""
    query = "&".join(
        f"{name}={value}"
        for name, value in sorted(
            (_uri_encode(name), _uri_encode(value))
            for name, value in pairs
            if name != "X-Amz-Signature"
        )
    )
    lines = [
        f"{name}:{','.join(' '.join(value.split()) for value in headers.get(name, ()))}"
        for name in signed_headers
    ]
    return "\n".join(
        [method, raw_path or "/", query, *lines, "", ";".join(signed_headers), payload_hash]
    )


def string_to_sign(amz_date: str, scope: Scope, canonical: str) -> str:
    digest = hashlib.sha256(canonical.encode()).hexdigest()
    return f"{ALGORITHM}\n{amz_date}\n{scope.text}\n{digest}"


@dataclass(frozen=True)
class Presigned:
    """A presigned URL S3 would serve: who signed it and which headers it binds."""

    scope: Scope
    signed_headers: tuple[str, ...]


def _query_error(message: str, details: Sequence[tuple[str, str]] = ()) -> S3Error:
    return S3Error("AuthorizationQueryParametersError", message, 400, details)


def check_presigned(
    method: str,
    raw_path: str,
    raw_query: str,
    headers: Headers,
    credentials: Mapping[str, str],
    region: str,
    now: datetime,
) -> Presigned:
    """What S3 checks of a request authenticated by query parameters (QUERY_AUTH), in the order
    S3 reports the faults: the algorithm, the six parameters, the date, X-Amz-Expires (a number,
    not negative, a week at most), a date not yet valid, the expiry, the credential's scope and
    its date, the access key, the headers every presigned request must sign, the signature."""
    pairs = query_pairs(raw_query)
    query = dict(pairs)
    if query.get("X-Amz-Algorithm") != ALGORITHM:
        raise _query_error('X-Amz-Algorithm only supports "AWS4-HMAC-SHA256"')
    if any(name not in query for name in QUERY_PARAMETERS):
        raise _query_error(
            "Query-string authentication version 4 requires the X-Amz-Algorithm, "
            "X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and "
            "X-Amz-Expires parameters."
        )
    amz_date = query["X-Amz-Date"]
    signed_at = parse_amz_date(amz_date)
    if signed_at is None:
        raise _query_error("X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\"")
    try:
        expires = int(query["X-Amz-Expires"])
    except ValueError:
        raise _query_error("X-Amz-Expires should be a number") from None
    if expires < 0:
        raise _query_error("X-Amz-Expires must be non-negative")
    if expires > MAX_EXPIRES:
        raise _query_error(
            "X-Amz-Expires must be less than a week (in seconds); that is, the given "
            f"X-Amz-Expires must be less than {MAX_EXPIRES} seconds"
        )
    expires_at = (signed_at + timedelta(seconds=expires)).strftime(_SERVER_TIME)
    server_time = now.strftime(_SERVER_TIME)
    if signed_at - now > _SKEW:
        raise access_denied(
            "Request is not yet valid",
            ("X-Amz-Date", amz_date),
            ("Expires", expires_at),
            ("ServerTime", server_time),
        )
    # X-Amz-Expires "provides the time period, in seconds, for which the generated presigned
    # URL is valid", counted from X-Amz-Date (QUERY_AUTH).
    if (now - signed_at).total_seconds() > expires:
        raise access_denied(
            "Request has expired",
            ("X-Amz-Expires", query["X-Amz-Expires"]),
            ("Expires", expires_at),
            ("ServerTime", server_time),
        )
    try:
        scope = Scope.parse(query["X-Amz-Credential"], region)
    except CredentialFault as fault:
        raise _query_error(
            f"Error parsing the X-Amz-Credential parameter; {fault.message}", fault.details
        ) from None
    if scope.day != amz_date[:8]:
        raise _query_error(
            f'Invalid credential date "{scope.day}". This date is not the same as '
            f'X-Amz-Date: "{amz_date[:8]}".'
        )
    secret = credentials.get(scope.access_key)
    if secret is None:
        raise unknown_access_key(scope.access_key)
    signed_headers = tuple(query["X-Amz-SignedHeaders"].lower().split(";"))
    # A presigned request signs the host header and every x-amz-* header it will carry
    # (QUERY_AUTH); S3 refuses one that carries others, naming them.
    unsigned = [
        name
        for name in sorted({"host", *(name for name in headers if name.startswith("x-amz-"))})
        if name not in signed_headers
    ]
    if unsigned:
        raise access_denied(
            "There were headers present in the request which were not signed",
            ("HeadersNotSigned", ", ".join(unsigned)),
        )
    # Presigned URLs leave the body out of the signature (QUERY_AUTH), unless one names its hash.
    payload = query.get("X-Amz-Content-Sha256", UNSIGNED_PAYLOAD)
    canonical = canonical_request(method, raw_path, pairs, headers, signed_headers, payload)
    to_sign = string_to_sign(amz_date, scope, canonical)
    _verify(
        secret,
        scope,
        to_sign,
        query["X-Amz-Signature"],
        ("CanonicalRequest", canonical),
        ("CanonicalRequestBytes", spaced_hex(canonical)),
    )
    return Presigned(scope, signed_headers)


def check_policy_signature(policy: str, provided: str, scope: Scope, secret: str) -> None:
    """A POST form's `x-amz-signature`: the hex HMAC-SHA256 of the base64 policy as sent (the
    string to sign), under the signing key of the credential's day (POST_SIGNATURE)."""
    _verify(secret, scope, policy, provided)


def _verify(
    secret: str, scope: Scope, to_sign: str, provided: str, *shown: tuple[str, str]
) -> None:
    """Refuses a signature other than the one `secret` gives `to_sign`, naming what S3 signed."""
    expected = signature(signing_key(secret, scope.day, scope.region), to_sign)
    if not hmac.compare_digest(expected, provided.lower()):
        raise S3Error(
            "SignatureDoesNotMatch",
            _MISMATCH,
            403,
            (
                ("AWSAccessKeyId", scope.access_key),
                ("StringToSign", to_sign),
                ("SignatureProvided", provided),
                ("StringToSignBytes", spaced_hex(to_sign)),
                *shown,
            ),
        )


def authorization(
    method: str,
    raw_path: str,
    headers: dict[str, str],
    access_key: str,
    secret: str,
    region: str,
    now: datetime,
) -> str:
    """Signs a request the gateway sends itself (headers lower-case, `host` among them): adds
    `x-amz-date` and `x-amz-content-sha256: UNSIGNED-PAYLOAD` and returns the `Authorization`
    header that signs every header given (HEADER_AUTH)."""
    amz_date = now.strftime(AMZ_DATE)
    headers["x-amz-date"] = amz_date
    headers["x-amz-content-sha256"] = UNSIGNED_PAYLOAD
    scope = Scope(access_key, amz_date[:8], region)
    names = sorted(headers)
    canonical = canonical_request(
        method, raw_path, (), {name: [headers[name]] for name in names}, names, UNSIGNED_PAYLOAD
    )
    signed = signature(
        signing_key(secret, scope.day, region), string_to_sign(amz_date, scope, canonical)
    )
    return (
        f"{ALGORITHM} Credential={access_key}/{scope.text}, "
        f"SignedHeaders={';'.join(names)}, Signature={signed}"
    )
