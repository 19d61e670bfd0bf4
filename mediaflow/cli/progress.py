"""What a run says while it works, on stderr: on a terminal one line redrawn in place (files and
bytes uploaded, then executions done and failed); otherwise plain lines, one per file as it
finishes, so that a log or a CI job reads well."""

from __future__ import annotations

import sys
import threading
import time
from typing import TextIO

# A terminal line is redrawn at most this often; bytes arrive in 256 KiB reads.
REDRAW_SECONDS = 0.1


class Progress:
    def __init__(self, files: int, total_bytes: int, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stderr
        self.interactive = self.stream.isatty()
        self.files = files
        self.total_bytes = total_bytes
        self.uploaded_files = 0
        self.uploaded_bytes = 0
        self.finished: dict[str, str] = {}  # file name -> final status
        self._drawn = 0.0
        self._line = ""
        self._lock = threading.Lock()

    # -- uploads -----------------------------------------------------------------------------

    def sent(self, count: int) -> None:
        """`count` more bytes uploaded (called from the SDK's transfer threads)."""
        with self._lock:
            self.uploaded_bytes += count
            self._draw(self._upload_line())

    def uploaded(self) -> None:
        with self._lock:
            self.uploaded_files += 1
            self._draw(self._upload_line(), force=True)

    def _upload_line(self) -> str:
        return (
            f"Uploading: {self.uploaded_files}/{self.files} file(s), "
            f"{_size(self.uploaded_bytes)} of {_size(self.total_bytes)}"
        )

    # -- executions --------------------------------------------------------------------------

    def outcome(self, name: str, status: str, finished: bool) -> None:
        """A file's record as it stands; said once, when it is final."""
        with self._lock:
            if not finished or name in self.finished:
                return
            self.finished[name] = status
            if not self.interactive:
                self._print(f"{status:<10} {name}")

    def processing(self, uploads: int) -> None:
        with self._lock:
            failed = sum(status == "FAILED" for status in self.finished.values())
            self._draw(
                f"Processing: {len(self.finished)}/{uploads} done"
                + (f", {failed} failed" if failed else ""),
                force=True,
            )

    # -- either ------------------------------------------------------------------------------

    def say(self, line: str) -> None:
        """A line of its own (a file that cannot be read), kept above the redrawn one."""
        with self._lock:
            self._print(line)

    def end(self) -> None:
        """Leave the last redrawn line in place, so that what follows starts on a line of its
        own."""
        with self._lock:
            if self.interactive and self._line:
                self.stream.write("\n")
                self.stream.flush()
            self._line = ""

    def _draw(self, line: str, force: bool = False) -> None:
        if not self.interactive:
            return
        now = time.monotonic()
        if not force and now - self._drawn < REDRAW_SECONDS:
            return
        self._drawn = now
        self._line = line
        self.stream.write(f"\r\x1b[K{line}")
        self.stream.flush()

    def _print(self, line: str) -> None:
        if self.interactive and self._line:
            self.stream.write(f"\r\x1b[K{line}\n{self._line}")
        else:
            self.stream.write(f"{line}\n")
        self.stream.flush()


def _size(count: int) -> str:
    if count < 1000:
        return f"{count} B"
    for unit, scale in (("KB", 1e3), ("MB", 1e6)):
        if count < scale * 1000:
            return f"{count / scale:.1f} {unit}"
    return f"{count / 1e9:.2f} GB"
