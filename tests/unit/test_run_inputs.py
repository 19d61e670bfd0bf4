"""`mediaflow run`'s list of files: names below the path given, hidden names looked for inside
the folder only, two files that would share a key refused in one line."""

from __future__ import annotations

from pathlib import Path

import pytest

from mediaflow.cli.inputs import given_files
from mediaflow.cli.output_folder import derived_path


def test_a_dot_folder_or_dotdot_in_the_path_given_still_finds_the_files(tmp_path: Path) -> None:
    folder = tmp_path / ".media" / "trip"
    (folder / "a").mkdir(parents=True)
    (folder / ".thumbs").mkdir()
    for name in ("a/IMG_0001.JPG", "IMG_0001.JPG", ".DS_Store", ".thumbs/cache.jpg"):
        (folder / name).write_bytes(b"x")

    found = given_files([folder / ".." / "trip"])

    assert [given.name for given in found] == ["IMG_0001.JPG", "a/IMG_0001.JPG"]


def test_two_files_that_would_share_a_key_are_refused(tmp_path: Path) -> None:
    for folder in ("one", "two"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "IMG_0001.JPG").write_bytes(b"x")
    photo = tmp_path / "one" / "IMG_0001.JPG"

    assert len(given_files([photo, photo])) == 1  # the same file twice goes once
    with pytest.raises(ValueError, match=r"would both be uploaded as 'IMG_0001\.JPG'"):
        given_files([tmp_path / "one", tmp_path / "two"])


def test_outputs_keep_the_whole_name_and_fit_the_file_system(tmp_path: Path) -> None:
    assert derived_path(tmp_path, "a/LadyBird.heic", "thumbnail.jpg") == (
        tmp_path / "a" / "LadyBird.heic.thumbnail.jpg"
    )
    long_one, long_two = ("é" * 124 + suffix for suffix in (".jpg", ".png"))
    one = derived_path(tmp_path, long_one, "thumbnail.jpg")
    two = derived_path(tmp_path, long_two, "thumbnail.jpg")
    assert one != two and one.name.endswith(".thumbnail.jpg")
    assert max(len(one.name.encode()), len(two.name.encode())) <= 255
