"""What a function's deployment package holds besides its code: the distributions its
requirements bring, and the SDK the Lambda runtime provides.

`sam build` installs each function's `requirements.txt` into its artifact, and a layer's into the
layer; Lambda's Python runtime adds boto3. The local cloud runs functions with the tool's own
environment, which holds much more (moto, pytest, the tool itself), so each sandbox is told which
top-level modules its function may import: exactly those of the distributions named here and of
everything they require, for this interpreter.
"""

from __future__ import annotations

import importlib.metadata
from collections.abc import Iterable
from functools import cache
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

# The AWS SDK for Python comes with every Python runtime of Lambda ("Runtime-included SDK
# versions", Lambda developer guide, lambda-python.html); the function may bundle its own.
RUNTIME_PROVIDED = ("boto3",)


class MissingDependency(Exception):
    """A requirement of a function is not installed in the tool's environment."""


def requirement_files(folders: Iterable[Path]) -> tuple[Path, ...]:
    """The requirements.txt of each folder that has one: the function's and its layers'."""
    return tuple(
        folder / "requirements.txt" for folder in folders if (folder / "requirements.txt").is_file()
    )


@cache
def importable_modules(requirement_files: tuple[Path, ...]) -> frozenset[str]:
    """The top-level module names the requirements (and the runtime's SDK) make importable."""
    wanted: list[Requirement] = [Requirement(name) for name in RUNTIME_PROVIDED]
    for path in requirement_files:
        wanted += _requirements_in(path)
    return frozenset(
        module
        for distribution in _closure(wanted)
        for module in _modules_of().get(distribution, ())
    )


def _requirements_in(path: Path) -> list[Requirement]:
    found = []
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        text = line.split("#", 1)[0].strip()
        if not text:
            continue
        try:
            found.append(Requirement(text))
        except InvalidRequirement as error:
            raise MissingDependency(f"{path}:{number}: {error}") from None
    return found


def _closure(wanted: list[Requirement]) -> set[str]:
    """Every distribution the requirements need on this interpreter, with their extras."""
    seen: set[tuple[str, frozenset[str]]] = set()
    distributions: set[str] = set()
    while wanted:
        requirement = wanted.pop()
        name = canonicalize_name(requirement.name)
        key = (name, frozenset(requirement.extras))
        if key in seen:
            continue
        seen.add(key)
        try:
            distribution = importlib.metadata.distribution(name)
        except importlib.metadata.PackageNotFoundError:
            raise MissingDependency(
                f"{requirement.name} is not installed in the environment that runs the local "
                "cloud: pyproject.toml's dependencies must list what the functions need, then "
                "`make run` installs it"
            ) from None
        distributions.add(name)
        for text in distribution.requires or []:
            needed = Requirement(text)
            environments = [{"extra": extra} for extra in requirement.extras] or [{"extra": ""}]
            if needed.marker is None or any(needed.marker.evaluate(env) for env in environments):
                wanted.append(needed)
    return distributions


@cache
def _modules_of() -> dict[str, tuple[str, ...]]:
    """Installed distribution (canonical name) -> the top-level modules it provides."""
    modules: dict[str, list[str]] = {}
    for module, names in importlib.metadata.packages_distributions().items():
        for name in names:
            modules.setdefault(canonicalize_name(name), []).append(module)
    return {name: tuple(found) for name, found in modules.items()}
