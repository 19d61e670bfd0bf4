"""S3's refusals as the local S3 gateway answers them: code, HTTP status, message, the extra
elements S3 puts in its XML error document, and the pages the gateway's rules come from.

Where AWS's error table and S3's observed answers differ (a failed POST policy condition is
documented as 400 InvalidPolicyDocument but answered 403 AccessDenied), the gateway answers as
S3 does; the comment at each rule says which.
"""

from __future__ import annotations

import base64
import os
import uuid
from collections.abc import Sequence
from xml.sax.saxutils import escape

# -- where each rule comes from ------------------------------------------------------------------

_S3 = "https://docs.aws.amazon.com/AmazonS3/latest"
ERROR_RESPONSES = f"{_S3}/API/ErrorResponses.html"
POST_OBJECT = f"{_S3}/API/RESTObjectPOST.html"
POST_FORMS = f"{_S3}/API/sigv4-HTTPPOSTForms.html"
# The Signature Version 2 form page, which alone says how fields of one name combine.
POST_FORMS_V2 = f"{_S3}/API/HTTPPOSTForms.html"
POST_POLICY = f"{_S3}/API/sigv4-HTTPPOSTConstructPolicy.html"
POST_SIGNATURE = f"{_S3}/API/sigv4-authentication-HTTPPOST.html"
POST_EXAMPLE = f"{_S3}/API/sigv4-post-example.html"
BROWSER_UPLOADS = f"{_S3}/API/sigv4-UsingHTTPPOST.html"
QUERY_AUTH = f"{_S3}/API/sigv4-query-string-auth.html"
HEADER_AUTH = f"{_S3}/API/sig-v4-header-based-auth.html"
OBJECT_INTEGRITY = f"{_S3}/userguide/checking-object-integrity-upload.html"
USER_METADATA = f"{_S3}/userguide/UsingMetadata.html"
BLOCK_PUBLIC_ACCESS = f"{_S3}/userguide/access-control-block-public-access.html"
# S3's own answers where its pages say nothing or otherwise, recorded against S3 by LocalStack's
# validated tests (expired policy, failed condition, sizes, missing fields, signature mismatch).
LOCALSTACK_RECORDINGS = (
    "https://github.com/localstack/localstack/blob/8b9a79f05846835cf4dff63ab7eefdde9df83783/"
    "tests/aws/services/s3/test_s3.snapshot.json"
)


class S3Error(Exception):
    """A request S3 refuses: nothing is stored, and the client gets S3's XML error document."""

    def __init__(
        self, code: str, message: str, status: int, details: Sequence[tuple[str, str]] = ()
    ) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = status
        self.details = tuple(details)

    def document(self, request_id: str, host_id: str) -> bytes:
        """The XML body S3 answers with (ErrorResponses: Code, Message, the error's own
        elements, RequestId, HostId)."""
        elements = "".join(
            f"<{name}>{escape(value)}</{name}>"
            for name, value in (("Code", self.code), ("Message", self.message), *self.details)
        )
        return (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            f"<Error>{elements}<RequestId>{request_id}</RequestId>"
            f"<HostId>{host_id}</HostId></Error>"
        ).encode()


def request_ids() -> tuple[str, str]:
    """A request id and host id shaped as S3's (`x-amz-request-id`, `x-amz-id-2`)."""
    return uuid.uuid4().hex[:16].upper(), base64.b64encode(os.urandom(48)).decode()


def access_denied(message: str = "Access Denied", *details: tuple[str, str]) -> S3Error:
    return S3Error("AccessDenied", message, 403, details)


def invalid_argument(message: str, name: str, value: str, *more: tuple[str, str]) -> S3Error:
    return S3Error(
        "InvalidArgument", message, 400, (("ArgumentName", name), ("ArgumentValue", value), *more)
    )


def invalid_request(message: str) -> S3Error:
    return S3Error("InvalidRequest", message, 400)


def unsupported_signature() -> S3Error:
    # Signature Version 2 is not what the contract presigns with; S3 answers this in the
    # regions that take only Signature Version 4.
    return invalid_request(
        "The authorization mechanism you have provided is not supported. "
        "Please use AWS4-HMAC-SHA256."
    )
