"""The uploads in flight, remembered on disk: `<state dir>/uploads/<target>/<sha256>.<device>.json`
holds the Idempotency-Key of the attempt, and once the API has answered, the upload it created.
A run that was interrupted (Ctrl-C, a dropped network, a flat battery) finds it there and
resumes that upload instead of starting another; the entry is removed once S3 holds the file.

The key is chosen (and saved) before POST /uploads is sent, so a request whose answer was lost
is sent again with the same key and the API returns the same upload.
"""

from __future__ import annotations

import json
import os
import secrets
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote


@dataclass
class InFlight:
    idempotency_key: str
    created: dict[str, Any] = field(default_factory=dict)
    """POST /uploads' 201 body: mediaId, key, expiresAt, and `upload` or `multipart`."""

    @property
    def media_id(self) -> str:
        return str(self.created.get("mediaId", ""))


class UploadState:
    """The in-flight uploads of one device on one target."""

    def __init__(self, state_dir: Path, target: str, device: str) -> None:
        self.folder = state_dir / "uploads" / _safe(target)
        self.device = device

    def _path(self, sha256: str) -> Path:
        return self.folder / f"{sha256}.{_safe(self.device)}.json"

    def find(self, sha256: str) -> InFlight | None:
        try:
            saved = json.loads(self._path(sha256).read_text())
            return InFlight(str(saved["idempotencyKey"]), dict(saved.get("created") or {}))
        except (OSError, ValueError, KeyError, TypeError):
            return None  # none, or unreadable: a new upload is the safe answer

    def start(self, sha256: str) -> InFlight:
        """A new attempt for the file, with a key no other attempt has: the API keeps keys per
        device, and a file uploaded again later is a new upload, not the old one's answer."""
        flight = InFlight(f"mediaflow-{sha256[:32]}-{secrets.token_hex(8)}")
        self.save(sha256, flight)
        return flight

    def save(self, sha256: str, flight: InFlight) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self._path(sha256)
        temporary = path.with_suffix(f".{os.getpid()}-{threading.get_ident()}.tmp")
        # Mode 0600: the saved answer holds a presigned POST, which lets anyone upload that key.
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w") as stream:
            json.dump({"idempotencyKey": flight.idempotency_key, "created": flight.created}, stream)
        temporary.replace(path)

    def forget(self, sha256: str) -> None:
        self._path(sha256).unlink(missing_ok=True)


def _safe(name: str) -> str:
    """A device id or stack name as one file name (ids may hold any letters, and `.`)."""
    return quote(name, safe="-_")
