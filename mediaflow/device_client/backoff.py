"""Retries with exponential back-off and full jitter, the schedule AWS recommends for clients
(https://aws.amazon.com/builders-library/timeouts-retries-and-backoff-with-jitter/)."""

from __future__ import annotations

import random
import time
from dataclasses import dataclass


@dataclass(frozen=True)
class Backoff:
    """`tries` attempts in all; after failed attempt n (from 0), a random wait of up to
    base * 2**n seconds, capped."""

    tries: int = 4
    base: float = 0.5
    cap: float = 8.0

    def more_after(self, attempt: int) -> bool:
        """Whether another attempt follows failed attempt `attempt`."""
        return attempt + 1 < self.tries

    def sleep(self, attempt: int) -> None:
        time.sleep(random.uniform(0, min(self.cap, self.base * 2**attempt)))
