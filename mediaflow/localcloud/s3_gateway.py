"""The local cloud's S3 endpoint for devices: an HTTP server on 127.0.0.1 in front of the
emulator's S3 that checks, as S3 does, what the emulator takes on trust.

moto's S3 stores a POST form without reading its policy, signature or expiry, and serves a
presigned URL without checking it. The gateway answers those requests itself, with S3's codes
and XML errors, and stores nothing it refuses:

- POST Object (a browser-based upload to `/<bucket>`): the form's Signature Version 4 authority,
  its policy, the file's size and checksum (post_object.py); what passes is stored with a
  PutObject, so the emulator raises the upload's EventBridge event as for any upload;
- a presigned URL (query-string Signature Version 4) on any method: its signature, expiry and
  signed headers (sigv4.py), and for an upload (PutObject, UploadPart) the body's Content-MD5 and
  `x-amz-checksum-*` before it goes on (upload_checksums.py);
- a request signed with the `Authorization` header (the SDK's own calls) goes on unchecked, as
  the local cloud enforces no IAM; an unsigned one is refused, the media bucket being private.

Everything else the emulator answers: the gateway passes requests on and answers back unchanged
(upstream.py). Use: `S3Gateway(cloud.endpoint_url).start()` returns `http://127.0.0.1:PORT`,
what `AWS_ENDPOINT_URL_S3` names; `stop()` ends it.
"""

from __future__ import annotations

import http.client
import logging
import time
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import quote, unquote, urlsplit

from mediaflow.localcloud import sigv4, upload_checksums
from mediaflow.localcloud.http_server import LocalServer
from mediaflow.localcloud.post_object import FormUpload, answer, read_form
from mediaflow.localcloud.request_body import BLOCK, RequestBody, Spooled
from mediaflow.localcloud.s3_errors import (
    S3Error,
    access_denied,
    invalid_argument,
    request_ids,
    unsupported_signature,
)
from mediaflow.localcloud.upstream import Upstream, relay

_log = logging.getLogger(__name__)
# Methods that may carry an upload's body, which a presigned URL's checks read first.
_UPLOADS = ("PUT", "POST")


class S3Gateway:
    """S3's checks in front of the emulator at `upstream_url`, for the access keys of
    `credentials` (access key to secret) in `region`. `clock` gives the time in seconds since
    the epoch (tests move it to expire policies and URLs)."""

    def __init__(
        self,
        upstream_url: str,
        credentials: Mapping[str, str] | None = None,
        region: str = "us-east-1",
        clock: Callable[[], float] = time.time,
        port: int = 0,
    ) -> None:
        self.upstream = Upstream(upstream_url)
        self.port = port
        self._upstream_host = urlsplit(upstream_url).netloc
        self.credentials = dict(credentials or {"local": "local"})
        self.region = region
        self.clock = clock
        self.url = ""
        self._server: LocalServer | None = None

    def start(self) -> str:
        """Serves on 127.0.0.1 at `port` (a free one when 0); returns the endpoint,
        `http://127.0.0.1:PORT`."""
        self._server = LocalServer(self, _Handler, ("127.0.0.1", self.port))
        self.url = self._server.start("s3-gateway")
        return self.url

    def stop(self) -> None:
        """Stops serving and closes the connections still open."""
        if self._server is None:
            return
        self._server.stop()
        self._server = None

    def __enter__(self) -> S3Gateway:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.clock(), UTC)

    # -- routing -------------------------------------------------------------------------------

    def serve(self, client: _Handler, body: RequestBody) -> None:
        """Answers one request: checked and answered here, or passed on to the emulator."""
        method, headers = client.command, client.headers
        raw_path, _, raw_query = client.path.partition("?")
        names = {name for name, _ in sigv4.query_pairs(raw_query)}
        signed_by_header = "Authorization" in headers
        bucket = unquote(raw_path.strip("/"))
        if method == "POST" and not raw_query and bucket and "/" not in bucket:
            self._post_object(client, bucket, body)
        elif "X-Amz-Algorithm" in names:
            if signed_by_header:
                raise invalid_argument(
                    "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, "
                    "Signature query string parameter or the Authorization header should be "
                    "specified",
                    "Authorization",
                    headers["Authorization"],
                )
            lowered = _lowered(headers)
            sigv4.check_presigned(
                method, raw_path, raw_query, lowered, self.credentials, self.region, self.now()
            )
            self._forward(client, body, checked=method in _UPLOADS)
        elif "Signature" in names and not signed_by_header:
            raise unsupported_signature()
        elif signed_by_header or method == "OPTIONS":
            # The SDK's own calls, and CORS preflights, which S3 answers without a signature.
            self._forward(client, body, checked=False)
        else:
            # An anonymous request: the media bucket blocks public access (BLOCK_PUBLIC_ACCESS).
            raise access_denied()

    def _forward(self, client: _Handler, body: RequestBody, *, checked: bool) -> None:
        headers = list(client.headers.items())
        values = {name.lower(): value for name, value in reversed(headers)}
        wanted = upload_checksums.needed(values) if checked else set()
        spooled: Spooled | None = None
        content: Iterable[bytes] = body.blocks()
        length = body.length
        if wanted or (body.length is None and "chunked" in values.get("transfer-encoding", "")):
            # Checked (or of unknown length) before it goes on: read to its end first.
            spooled = Spooled.of(body, wanted)
            upload_checksums.verify(values, spooled.digests)
            content, length = _blocks(spooled), spooled.size
        algorithm = upload_checksums.checksum_algorithm(values) if checked else None
        if algorithm and "x-amz-sdk-checksum-algorithm" not in values:
            # S3 records the checksum an upload names; the emulator only when the SDK's header
            # names the algorithm.
            headers.append(("x-amz-sdk-checksum-algorithm", algorithm.upper()))
        try:
            self._relay(client, client.command, client.path, headers, content, length)
        finally:
            if spooled is not None:
                spooled.close()

    def _relay(
        self,
        client: _Handler,
        method: str,
        target: str,
        headers: list[tuple[str, str]],
        content: Iterable[bytes],
        length: int | None,
    ) -> None:
        connection, response = self.upstream.send(method, target, headers, content, length)
        try:
            relay(response, client, head=method == "HEAD")
        finally:
            connection.close()

    def _post_object(self, client: _Handler, bucket: str, body: RequestBody) -> None:
        upload = read_form(
            bucket,
            client.headers.get("Content-Type", ""),
            body,
            self.credentials,
            self.region,
            self.now(),
        )
        try:
            connection, response = self._store(upload)
            try:
                if response.status != 200:
                    # What the emulator refuses (no such bucket, ...) it answers itself.
                    relay(response, client, head=False)
                    return
                response.read()
                stored = {name.lower(): value for name, value in response.getheaders()}
            finally:
                connection.close()
            status, headers, payload = answer(
                upload, stored, client.headers.get("Host") or self.url.split("//", 1)[1]
            )
            client.reply(status, headers, payload)
        finally:
            upload.content.close()

    def _store(
        self, upload: FormUpload
    ) -> tuple[http.client.HTTPConnection, http.client.HTTPResponse]:
        """PutObject of a checked form's file, with its content type, metadata and checksum,
        signed with the gateway's first access key as the SDK would sign it."""
        target = f"/{upload.bucket}/{quote(upload.key, safe='/~')}"
        headers = {"host": self._upstream_host, **upload.headers}
        access_key, secret = next(iter(self.credentials.items()))
        headers["authorization"] = sigv4.authorization(
            "PUT", target, headers, access_key, secret, self.region, self.now()
        )
        return self.upstream.send(
            "PUT", target, list(headers.items()), _blocks(upload.content), upload.content.size
        )


def _lowered(headers: Any) -> dict[str, list[str]]:
    lowered: dict[str, list[str]] = {}
    for name, value in headers.items():
        lowered.setdefault(name.lower(), []).append(value)
    return lowered


def _blocks(spooled: Spooled) -> Iterable[bytes]:
    spooled.file.seek(0)
    return iter(lambda: spooled.file.read(BLOCK), b"")


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: LocalServer
    answered = False

    def _serve(self) -> None:
        self.answered = False
        try:
            body = RequestBody.of(self.rfile, self.headers)
        except S3Error as error:
            self.close_connection = True
            self.refuse(error)
            return
        try:
            self.server.owner.serve(self, body)
        except S3Error as error:
            body.drain()
            self.refuse(error)
        except (OSError, http.client.HTTPException) as error:
            _log.warning("S3 gateway: %s %s failed: %s", self.command, self.path, error)
            self.close_connection = True
            if not self.answered:
                self.refuse(S3Error("ServiceUnavailable", f"The emulator's S3: {error}", 503))

    do_GET = do_HEAD = do_PUT = do_POST = do_DELETE = do_OPTIONS = do_PATCH = _serve

    def send_response_only(self, code: int, message: str | None = None) -> None:
        self.answered = True
        super().send_response_only(code, message)

    def reply(self, status: int, headers: Iterable[tuple[str, str]], payload: bytes) -> None:
        request_id, host_id = request_ids()
        self.send_response_only(status)
        self.send_header("x-amz-request-id", request_id)
        self.send_header("x-amz-id-2", host_id)
        self.send_header("Date", self.date_time_string())
        self.send_header("Server", "AmazonS3")
        for name, value in headers:
            self.send_header(name, value)
        if status != 204:
            self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if self.command != "HEAD" and status != 204:
            self.wfile.write(payload)

    def refuse(self, error: S3Error) -> None:
        request_id, host_id = request_ids()
        document = error.document(request_id, host_id)
        self.send_response_only(error.status)
        self.send_header("x-amz-request-id", request_id)
        self.send_header("x-amz-id-2", host_id)
        self.send_header("Date", self.date_time_string())
        self.send_header("Server", "AmazonS3")
        self.send_header("Content-Type", "application/xml")
        self.send_header("Content-Length", "0" if self.command == "HEAD" else str(len(document)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(document)

    def log_message(self, format: str, *args: Any) -> None:
        _log.debug("S3 gateway: " + format, *args)
