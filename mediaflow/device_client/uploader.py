"""One file into the bucket through the device API: POST /uploads, then the presigned POST, or,
above the API's multipart threshold, the parts (each with its SHA-256, URLs asked for in batches
of up to 100, every part PUT with retries and back-off) and `complete`.

Resume: the upload in flight is remembered (upload_state.py). When a run finds one for the
same file and device, it asks the API which parts S3 holds (GET /uploads/{mediaId}, from
ListParts) and sends only the others; an upload the API no longer has, or whose single POST
expired, is started again.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from mediaflow.device_client.api_client import DeviceApi
from mediaflow.device_client.backoff import Backoff
from mediaflow.device_client.errors import ApiError, DeviceClientError, TransportError
from mediaflow.device_client.form_upload import post_file, s3_error
from mediaflow.device_client.local_files import FileSlice, LocalFile
from mediaflow.device_client.upload_state import InFlight, UploadState

PARTS_PER_REQUEST = 100
"""The most part URLs POST /uploads/{mediaId}/parts gives in one answer."""


@dataclass
class Uploaded:
    """A file S3 now holds (or held already): its media id, and what this run sent."""

    file: LocalFile
    media_id: str
    resumed: bool = False
    parts_sent: list[int] = field(default_factory=list)
    part_count: int = 0


class Uploader:
    def __init__(self, api: DeviceApi, state: UploadState, backoff: Backoff | None = None) -> None:
        self.api = api
        self.state = state
        self.backoff = backoff or Backoff()

    def upload(self, path: Path) -> Uploaded:
        file = LocalFile.read(path)
        flight = self.state.find(file.sha256)
        if flight is not None and flight.media_id:
            resumed = self._resume(file, flight)
            if resumed is not None:
                return resumed
            flight = None
        # A saved key without an answer: the request may have reached the API, so the same key.
        flight = flight or self.state.start(file.sha256)
        try:
            flight.created = self.api.create_upload(declaration(file), flight.idempotency_key)
        except ApiError as error:
            if error.status != 409:
                raise
            # The key is busy or was used for other bytes: a new attempt has a key of its own.
            flight = self.state.start(file.sha256)
            flight.created = self.api.create_upload(declaration(file), flight.idempotency_key)
        self.state.save(file.sha256, flight)
        return self._send(file, flight, set(), resumed=False)

    def _resume(self, file: LocalFile, flight: InFlight) -> Uploaded | None:
        """The remembered upload carried on; None when it has to start again."""
        try:
            progress = self.api.progress(flight.media_id)
        except ApiError as error:
            if error.status != 404:
                raise
            self.state.forget(file.sha256)  # deleted, expired, or another pool's
            return None
        if progress.get("status") != "UPLOADING":
            # S3 has it (the workflow claimed it): an earlier run sent it all.
            self.state.forget(file.sha256)
            return Uploaded(file, flight.media_id, resumed=True)
        if "multipart" in flight.created:
            plan = progress.get("multipart")
            if not plan:
                self.state.forget(file.sha256)  # aborted or past its window
                return None
            flight.created["multipart"] = {
                "partSize": plan["partSize"],
                "partCount": plan["partCount"],
            }
            held = {int(part["partNumber"]) for part in plan.get("uploadedParts", [])}
            return self._send(file, flight, held, resumed=True)
        if _past(str(flight.created.get("expiresAt", ""))):
            self.state.forget(file.sha256)
            return None
        return self._send(file, flight, set(), resumed=True)

    def _send(
        self, file: LocalFile, flight: InFlight, held: set[int], *, resumed: bool
    ) -> Uploaded:
        created = flight.created
        done = Uploaded(file, flight.media_id, resumed=resumed)
        if "upload" in created:
            self._post(file, created["upload"])
            done.part_count = 1
        else:
            plan = created["multipart"]
            done.part_count = int(plan["partCount"])
            self._send_parts(file, done, int(plan["partSize"]), held)
            self.api.complete(flight.media_id)
        self.state.forget(file.sha256)
        return done

    def _post(self, file: LocalFile, upload: dict[str, Any]) -> None:
        attempt = 0
        while True:
            try:
                post_file(self.api.transport, upload["url"], upload["fields"], file.path, file.size)
                return
            except TransportError:
                if not self.backoff.more_after(attempt):
                    raise
            except ApiError:
                # S3 would refuse the same form again (expired, wrong bytes): start over next time.
                self.state.forget(file.sha256)
                raise
            self.backoff.sleep(attempt)
            attempt += 1

    def _send_parts(self, file: LocalFile, done: Uploaded, part_size: int, held: set[int]) -> None:
        missing = [number for number in range(1, done.part_count + 1) if number not in held]
        for start in range(0, len(missing), PARTS_PER_REQUEST):
            batch = missing[start : start + PARTS_PER_REQUEST]
            # Hashed batch by batch: a huge file's checksums are never all held at once.
            asked: list[dict[str, Any]] = [
                {"partNumber": number, "sha256": file.part_sha256(number, part_size)}
                for number in batch
            ]
            urls = {
                int(part["partNumber"]): str(part["url"])
                for part in self.api.part_urls(done.media_id, asked)
            }
            for part in asked:
                self._put_part(file, done, part, part_size, urls[part["partNumber"]])

    def _put_part(
        self, file: LocalFile, done: Uploaded, part: dict[str, Any], part_size: int, url: str
    ) -> None:
        number = int(part["partNumber"])
        offset, length = file.part_range(number, part_size)
        headers = {
            # Signed into the URL: S3 refuses the part unless its bytes have this digest.
            "x-amz-checksum-sha256": base64.b64encode(bytes.fromhex(part["sha256"])).decode(),
            "Content-Length": str(length),
        }
        attempt = 0
        while True:
            failure: DeviceClientError
            try:
                with FileSlice(file.path, offset, length) as body:
                    answer = self.api.transport.request("PUT", url, headers=headers, body=body)
            except TransportError as error:
                failure = error
            else:
                if answer.status < 300:
                    done.parts_sent.append(number)
                    return
                failure = s3_error(answer)
                if answer.status == 403:
                    # Most likely the URL expired while earlier parts went up: a fresh one.
                    url = str(self.api.part_urls(done.media_id, [part])[0]["url"])
                elif answer.status < 500:
                    raise DeviceClientError(f"part {number} of {done.part_count}: {failure}")
            if not self.backoff.more_after(attempt):
                raise DeviceClientError(
                    f"part {number} of {done.part_count} not uploaded after "
                    f"{self.backoff.tries} attempts ({failure}); run again to resume"
                )
            self.backoff.sleep(attempt)
            attempt += 1


def declaration(file: LocalFile) -> dict[str, Any]:
    """POST /uploads' body for the file."""
    return {
        "contentType": file.content_type,
        "size": file.size,
        "sha256": file.sha256,
        "fileName": file.path.name[:255],
    }


def _past(timestamp: str) -> bool:
    try:
        moment = datetime.fromisoformat(timestamp.replace("Z", "+00:00"))
    except ValueError:
        return True
    return moment <= datetime.now(UTC)
