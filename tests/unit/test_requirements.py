"""What `sam build` bundles: every function's and layer's requirements.txt, read as pip reads
them, with what each requirement pulls in as installed here."""

from __future__ import annotations

import importlib.metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.conftest import FUNCTIONS, ROOT

ARTIFACTS = sorted(
    {spec.code_dir for spec in FUNCTIONS.values()} | {ROOT / "layers" / "shared"}, key=str
)


def requirements(folder: Path) -> list[Requirement]:
    lines = (folder / "requirements.txt").read_text().splitlines()
    return [Requirement(text) for line in lines if (text := line.split("#", 1)[0].strip())]


def bundled(folder: Path) -> set[str]:
    """The distributions pip installs for the folder's requirements (with their extras)."""
    seen: set[tuple[str, frozenset[str]]] = set()
    pending = requirements(folder)
    while pending:
        requirement = pending.pop()
        name = canonicalize_name(requirement.name)
        if (name, frozenset(requirement.extras)) in seen:
            continue
        seen.add((name, frozenset(requirement.extras)))
        for text in importlib.metadata.requires(name) or ():
            needed = Requirement(text)
            marker = needed.marker
            if marker is None or any(
                marker.evaluate({"extra": extra}) for extra in requirement.extras or {""}
            ):
                pending.append(needed)
    return {name for name, _ in seen}


@pytest.mark.parametrize("folder", ARTIFACTS, ids=lambda folder: folder.name)
def test_botocore_is_bundled_only_with_its_boto3(folder: Path) -> None:
    # A botocore bundled alone would shadow the runtime's while boto3 stayed the runtime's.
    distributions = bundled(folder)

    assert ("botocore" in distributions) == ("boto3" in distributions), distributions


def test_the_layer_bundles_the_sdk_and_powertools_for_every_function() -> None:
    layer = bundled(ROOT / "layers" / "shared")

    assert {"boto3", "botocore", "aws-lambda-powertools", "aws-xray-sdk"} <= layer
    for spec in FUNCTIONS.values():
        own = bundled(spec.code_dir)
        # One copy, in the layer: none of it again in a function's artifact.
        assert not own & {"boto3", "botocore", "aws-lambda-powertools"}, spec.logical_id
