"""What an upload costs in Step Functions: states entered, counted from real execution histories.

A Standard workflow bills every state transition; each state entered is one (a Parallel and
every state of its branches, each iteration of a Map). The issue's budget is at most 10 states
for an image, whatever the number of its labels, and at most 8 for audio.
"""

from __future__ import annotations

import io

from PIL import Image

from mediaflow.corpora import images
from mediaflow.localcloud import LocalCloud
from tests.workflow.conftest import entered_states, execution_of, record_of, tone_wav

IMAGE_BUDGET = 10
AUDIO_BUDGET = 8
# One colour of each of the emulated Rekognition's twelve names (its most labels: each must
# cover a sixteenth of the image to reach the workflow's MinConfidence of 70).
COLOURS = [
    (0, 0, 0), (128, 128, 128), (255, 255, 255), (220, 20, 20), (255, 140, 0), (250, 230, 30),
    (40, 170, 60), (0, 160, 160), (30, 70, 220), (130, 50, 200), (255, 110, 200), (120, 70, 20),
]  # fmt: skip


def stripes(colours: list[tuple[int, int, int]]) -> bytes:
    """A 640x480 JPEG of equal vertical stripes, one per colour: one emulated label each."""
    image = Image.new("RGB", (640, 480))
    for number, colour in enumerate(colours):
        image.paste(
            colour, (number * 640 // len(colours), 0, (number + 1) * 640 // len(colours), 480)
        )
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=95)
    return buffer.getvalue()


def test_an_image_enters_at_most_10_states_whatever_its_labels_and_audio_at_most_8(
    cloud: LocalCloud,
) -> None:
    # Given a photo with three labels, one with twelve, a HEIC (labelled from a rendition) and
    # a recording
    uploads = {
        "three labels": ("uploads/phone-1/three.jpg", stripes(COLOURS[:3])),
        "twelve labels": ("uploads/phone-1/twelve.jpg", stripes(COLOURS)),
        "rendition": ("uploads/phone-1/photo.heic", images.photo_heic(640, 480)),
        "audio": ("uploads/recorder-7/tone.wav", tone_wav()),
    }
    for key, body in uploads.values():
        cloud.upload(body, key)

    # When the workflow has run
    cloud.wait_until_settled()

    # Then each is processed with every field, and its history enters few states
    records = {name: record_of(cloud, key) for name, (key, _) in uploads.items()}
    assert {record["status"] for record in records.values()} == {"PROCESSED"}
    assert [
        len(records[name]["image"]["labels"]) for name in ("three labels", "twelve labels")
    ] == [
        3,
        12,
    ]
    entered = {
        name: entered_states(execution_of(cloud, record)) for name, record in records.items()
    }
    assert len(entered["three labels"]) == len(entered["twelve labels"]) <= IMAGE_BUDGET
    assert len(entered["rendition"]) <= IMAGE_BUDGET
    assert "Make label rendition" in entered["rendition"]
    assert len(entered["audio"]) <= AUDIO_BUDGET
