"""The local cloud's emulated Rekognition (mediaflow/localcloud/rekognition.py): its labels name
the colours a person would name, by the area they cover, and say they are emulated."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageDraw

from mediaflow.corpora import images
from mediaflow.localcloud.rekognition import (
    COLOUR_NAMES,
    EMULATED_MODEL_VERSION,
    RekognitionError,
    detect_labels,
    name_pixels,
)


def label_names(data: bytes) -> list[str]:
    return [label["Name"] for label in detect_labels(data)["Labels"]]


def uniform_png(colour: tuple[int, int, int]) -> bytes:
    return images.encode(Image.new("RGB", (200, 150), colour), "PNG")


def ladybird_on_leaf(width: int = 960, height: int = 720) -> bytes:
    """A phone photo of a ladybird on a leaf: a leaf's greens, light and shadow from a photo's
    lighting, a red beetle with black spots and head, sensor noise, saved as a camera JPEG."""
    light = np.asarray(images.photo(width, height, seed=7, noise=0).convert("L"), dtype=float)
    shade = 0.35 + 0.75 * light[..., None] / 255.0  # the leaf's lit and shaded parts
    leaf = np.clip(shade * np.array([95.0, 150.0, 45.0]), 0, 255).astype(np.uint8)
    picture = Image.fromarray(leaf)
    draw = ImageDraw.Draw(picture)
    cx, cy, r = width // 2, height // 2, height // 6
    draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=(200, 25, 20))
    draw.ellipse((cx - r // 2, cy - r - r // 3, cx + r // 2, cy - r // 2), fill=(15, 12, 10))
    for dx, dy in ((-0.5, -0.2), (0.45, -0.1), (-0.3, 0.45), (0.35, 0.5)):
        x, y, s = cx + int(dx * r), cy + int(dy * r), r // 5
        draw.ellipse((x - s, y - s, x + s, y + s), fill=(15, 12, 10))
    noise = np.random.default_rng(7).integers(-8, 9, (height, width, 3))
    noisy = np.clip(np.asarray(picture, dtype=np.int16) + noise, 0, 255).astype(np.uint8)
    return images.encode(Image.fromarray(noisy), "JPEG", quality=88, exif=images.camera_exif())


@pytest.mark.parametrize(
    ("colour", "name"),
    [
        # The examples: a light grey was "Pink" and grass "Brown" (nearest in RGB).
        ((200, 200, 200), "Gray"),
        ((70, 110, 40), "Green"),
        # A representative of each name.
        ((20, 20, 20), "Black"),
        ((60, 60, 60), "Black"),
        ((128, 128, 128), "Gray"),
        ((240, 240, 240), "White"),
        ((245, 245, 220), "White"),  # beige paper: a white with a tint
        ((200, 30, 30), "Red"),
        ((128, 0, 0), "Red"),  # maroon: dark but saturated
        ((240, 140, 20), "Orange"),
        ((235, 220, 40), "Yellow"),
        ((40, 160, 60), "Green"),
        ((30, 60, 20), "Green"),  # a leaf in shadow
        ((0, 128, 128), "Teal"),
        ((40, 90, 200), "Blue"),
        ((135, 206, 235), "Blue"),  # sky blue
        ((0, 0, 128), "Blue"),  # navy
        ((130, 60, 170), "Purple"),
        ((128, 0, 128), "Purple"),
        ((240, 150, 190), "Pink"),
        ((255, 192, 203), "Pink"),  # a light red reads as pink
        ((120, 80, 40), "Brown"),
        ((139, 69, 19), "Brown"),  # a dark orange
        ((210, 180, 140), "Brown"),  # tan: a dull orange
        ((100, 40, 30), "Brown"),  # chestnut: a dark dull red
    ],
)
def test_a_uniform_image_is_named_as_a_person_names_its_colour(
    colour: tuple[int, int, int], name: str
) -> None:
    assert label_names(uniform_png(colour)) == [name]


def test_every_colour_name_can_be_given() -> None:
    pixels = np.array(
        [(20, 20, 20), (128, 128, 128), (240, 240, 240), (200, 30, 30), (240, 140, 20),
         (235, 220, 40), (40, 160, 60), (0, 128, 128), (40, 90, 200), (130, 60, 170),
         (240, 150, 190), (120, 80, 40)]
    )  # fmt: skip
    assert sorted(COLOUR_NAMES[i] for i in name_pixels(pixels)) == sorted(COLOUR_NAMES)


def test_a_green_photo_is_labelled_green_first() -> None:
    # Given a photo-like picture of a ladybird on a leaf (it was "Brown, Gray, Black, White")
    data = ladybird_on_leaf()

    # When it is labelled
    answer = detect_labels(data)

    # Then its main colour comes first, the beetle's red is named, and the labels say they
    # are emulated
    names = [label["Name"] for label in answer["Labels"]]
    assert names[0] == "Green", names
    assert "Red" in names[:3], names
    assert answer["LabelModelVersion"] == EMULATED_MODEL_VERSION


def test_labels_are_ranked_by_the_area_their_colour_covers() -> None:
    picture = Image.new("RGB", (400, 100), (40, 90, 200))  # blue, 60 %
    ImageDraw.Draw(picture).rectangle((0, 0, 119, 99), fill=(235, 220, 40))  # yellow, 30 %
    ImageDraw.Draw(picture).rectangle((120, 0, 159, 99), fill=(200, 200, 200))  # gray, 10 %

    labels = detect_labels(images.encode(picture, "PNG"))["Labels"]

    assert [label["Name"] for label in labels][:3] == ["Blue", "Yellow", "Gray"]
    confidences = [label["Confidence"] for label in labels]
    assert confidences == sorted(confidences, reverse=True)
    assert all(0 < confidence <= 100 for confidence in confidences)


def test_max_labels_and_min_confidence_are_kept() -> None:
    picture = Image.new("RGB", (400, 100), (40, 90, 200))
    ImageDraw.Draw(picture).rectangle((0, 0, 15, 99), fill=(235, 220, 40))  # yellow, 4 %
    data = images.encode(picture, "PNG")

    assert [label["Name"] for label in detect_labels(data, max_labels=1)["Labels"]] == ["Blue"]
    assert [label["Name"] for label in detect_labels(data, min_confidence=90)["Labels"]] == ["Blue"]


def test_transparent_areas_are_the_white_page_behind_the_image() -> None:
    picture = Image.new("RGBA", (200, 100), (0, 0, 0, 0))
    ImageDraw.Draw(picture).rectangle((100, 0, 199, 99), fill=(40, 160, 60, 255))

    assert sorted(label_names(images.encode(picture, "PNG"))) == ["Green", "White"]


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (images.encode(Image.new("RGB", (200, 150), "gray"), "GIF"), "InvalidImageFormatException"),
        (images.encode(Image.new("RGB", (60, 150), "gray"), "PNG"), "InvalidImageFormatException"),
        (b"\xff\xd8\xff" + bytes(15 * 1024 * 1024), "ImageTooLargeException"),
    ],
)
def test_what_the_real_service_refuses_is_refused(data: bytes, code: str) -> None:
    with pytest.raises(RekognitionError) as refused:
        detect_labels(data)
    assert refused.value.code == code
