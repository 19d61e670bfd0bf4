"""What Amazon Rekognition's DetectLabels reads from S3: JPEG or PNG, at most 15 MB, 80 to
10000 pixels a side (https://docs.aws.amazon.com/rekognition/latest/dg/limits.html, "Set
quotas"). Inspect decides from these whether an original can be labelled as it is; the
thumbnail function makes renditions within them for the others.

The local cloud's emulated Rekognition (mediaflow/localcloud/rekognition.py) keeps its own copy
of these rules on purpose: it stands for AWS, not for this code.
"""

from __future__ import annotations

MAX_BYTES = 15 * 1024 * 1024
MIN_SIDE = 80
MAX_SIDE = 10_000
FORMATS = frozenset({"jpeg", "png"})
"""The formats read, by their names in the Inspect verdict (`format`)."""


def sides_fit(width: int, height: int) -> bool:
    """Whether both sides are within MIN_SIDE..MAX_SIDE pixels."""
    return all(MIN_SIDE <= side <= MAX_SIDE for side in (width, height))
