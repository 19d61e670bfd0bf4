"""The folder a run writes into: held by one run at a time (a lock file with its pid), and its
derived files named after their input's path below the path given, so that no two inputs share
one and each name fits the file system."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path, PurePosixPath

LOCK_FILE = ".mediaflow-run.lock"
# The longest file name (one path component) ext4, APFS, NTFS and most others take, in bytes.
NAME_MAX_BYTES = 255


def prepare(output: Path) -> None:
    """Create the folder, or say in one line why it cannot be one."""
    for folder in (output, *output.parents):
        if folder.exists() and not folder.is_dir():
            raise ValueError(f"--output {output}: {folder} is a file; give a folder")
    try:
        (output / "thumbnails").mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise ValueError(f"--output {output}: cannot create it ({error.strerror})") from None


@contextmanager
def held(output: Path) -> Iterator[None]:
    """The folder, for this process alone while the block runs: a second run into it refuses,
    rather than mix its results with this one's. A lock left by a process that is gone is
    taken over."""
    lock = output / LOCK_FILE
    for _ in range(2):
        try:
            descriptor = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            owner = _owner(lock)
            if owner is not None and _alive(owner):
                raise ValueError(
                    f"another mediaflow run (pid {owner}) is writing to {output}: "
                    "wait for it to end, or give another --output"
                ) from None
            lock.unlink(missing_ok=True)
            continue
        with os.fdopen(descriptor, "w") as file:
            file.write(f"{os.getpid()}\n")
        break
    else:
        raise ValueError(f"cannot take {lock}: another run took it at the same time")
    try:
        yield
    finally:
        if _owner(lock) == os.getpid():
            lock.unlink(missing_ok=True)


def _owner(lock: Path) -> int | None:
    try:
        text = lock.read_text().strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process
    return True


def derived_path(folder: Path, input_name: str, derived_name: str) -> Path:
    """Where a derived file of the input `input_name` (its path below the path given) goes: the
    same folders below `folder`, the input's whole name with its extension, then the derived
    file's name (`a/IMG_0001.JPG` -> `a/IMG_0001.JPG.thumbnail.jpg`). A name too long for the
    file system is shortened, with a hash of the input's path so that it stays its own."""
    relative = PurePosixPath(input_name)
    name = f"{relative.name}.{derived_name}"
    if len(name.encode()) > NAME_MAX_BYTES:
        digest = hashlib.sha256(input_name.encode()).hexdigest()[:12]
        tail = f"~{digest}.{derived_name}"
        budget = NAME_MAX_BYTES - len(tail.encode())
        head = relative.name.encode()[:budget].decode(errors="ignore")
        name = head + tail
    return folder.joinpath(*relative.parent.parts, name)
