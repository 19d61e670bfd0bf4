"""What the device client raises: one class whose message is a sentence a person can read."""

from __future__ import annotations


class DeviceClientError(Exception):
    """Something the device could not do, said in one line (never a traceback)."""


class ApiError(DeviceClientError):
    """The device API (or S3) answered with an error: its status, stable code and sentence."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{code} ({status}): {message}" if code else f"HTTP {status}: {message}")
        self.status = status
        self.code = code
        self.message = message


class TransportError(DeviceClientError):
    """No answer: the connection could not be made or was dropped."""
