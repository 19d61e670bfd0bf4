"""The files a run is given: each file with its name below the path given, which keeps the folder
structure in the upload keys and in the output folder, and its bytes read one file at a time so
that an unreadable file is reported and the others still go."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import BinaryIO


@dataclass(frozen=True)
class GivenFile:
    path: Path
    name: str
    """The path below the folder given, with `/` separators (the file's own name when the file
    itself was given): the end of its upload key, and where its outputs go."""


class UnreadableFile(Exception):
    """A file that was listed but cannot be read (permissions, removed since, not a file)."""


def given_files(paths: list[Path]) -> list[GivenFile]:
    """Every file under `paths`, in order, hidden files and folders inside a folder left out
    (the path given may itself be or contain a dot-folder, or `..`). Two files that would
    share an upload key are refused."""
    return _distinct(_listed(paths))


def media_files(paths: list[Path]) -> list[Path]:
    """The files under `paths`, listed as `given_files` lists them (`mediaflow upload`, whose
    keys the device API chooses)."""
    return [given.path for given in _listed(paths)]


def _listed(paths: list[Path]) -> list[GivenFile]:
    files: list[GivenFile] = []
    for path in paths:
        if path.is_dir():
            files += sorted(_below(path), key=lambda given: given.name)
        elif path.exists() or path.is_symlink():
            files.append(GivenFile(path, path.name))
        else:
            raise FileNotFoundError(f"{path} does not exist")
    return files


def _below(folder: Path) -> Iterator[GivenFile]:
    for child in folder.rglob("*"):
        relative = child.relative_to(folder)
        if any(part.startswith(".") for part in relative.parts) or child.is_dir():
            continue
        # Not only regular files: a broken link or a socket is reported, not silently skipped.
        yield GivenFile(child, PurePosixPath(*relative.parts).as_posix())


def _distinct(files: list[GivenFile]) -> list[GivenFile]:
    """The same file given twice goes once; two files that would share an upload key are a
    mistake said in one line."""
    by_name: dict[str, GivenFile] = {}
    kept = []
    for given in files:
        other = by_name.get(given.name)
        if other is None:
            by_name[given.name] = given
            kept.append(given)
        elif not _same_file(other.path, given.path):
            raise ValueError(
                f"{other.path} and {given.path} would both be uploaded as {given.name!r}: "
                "give the folder that holds both"
            )
    return kept


def _same_file(one: Path, other: Path) -> bool:
    try:
        return one.samefile(other)
    except OSError:
        return one.absolute() == other.absolute()


def opened(given: GivenFile) -> BinaryIO:
    """The file, open for reading, or UnreadableFile saying why in a few words."""
    try:
        # Opening a FIFO would wait for a writer; only regular files are read.
        if not stat.S_ISREG(os.stat(given.path).st_mode):
            raise UnreadableFile("not a regular file")
        return given.path.open("rb")
    except OSError as error:
        raise UnreadableFile(error.strerror or str(error)) from None
