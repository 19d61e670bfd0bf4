"""`mediaflow invoke`: one function on one event, in a sandbox of the local cloud, as
`sam local invoke` runs it in Docker: its logs on stderr, its answer alone on stdout."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from mediaflow.localcloud import LocalCloud


def add_commands(commands: Any) -> None:
    invoke = commands.add_parser("invoke", help="run one function on one event")
    invoke.add_argument("function", help="logical ID in template.yaml, e.g. InspectFunction")
    invoke.add_argument("--event", "-e", type=Path, required=True, help="event JSON file")
    invoke.set_defaults(command=invoke_command)


def invoke_command(args: argparse.Namespace) -> int:
    event = read_event(args.event, args.project / "events")
    samples = args.project / "samples"
    for _, key, _ in objects_named_in(event):
        _require_sample(key, samples)
    with LocalCloud(args.project, deliver_events=False, function_log=Path("/dev/stderr")) as cloud:
        logical_id = function_logical_id(cloud, args.function)
        for bucket, key, version in objects_named_in(event):
            cloud.seed_sample(bucket, key, version, samples)
        invocation = cloud.invoke(logical_id, event)
    print(json.dumps(invocation.payload, indent=2))
    return 1 if invocation.function_error else 0


def read_event(path: Path, events: Path) -> dict[str, Any]:
    """The event in a file, or one line saying what is wrong with the file (exit code 2)."""
    suggestion = f"give an event file such as {events / 'inspect.json'}"
    if not path.is_file():
        raise FileNotFoundError(f"no event file {path}: {suggestion}")
    try:
        event = json.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise ValueError(f"{path} is not a JSON file: {suggestion}") from None
    except json.JSONDecodeError as error:
        raise ValueError(
            f"{path} is not JSON ({error.msg}, line {error.lineno} column {error.colno}): "
            f"{suggestion}"
        ) from None
    if not isinstance(event, dict):
        raise ValueError(
            f"{path} holds a JSON {type(event).__name__}, and an event is one JSON object: "
            f"{suggestion}"
        )
    return event


def _require_sample(key: str, samples: Path) -> None:
    """The local cloud starts empty: an object an event names is seeded from the sample file of
    the same name (provision.seed_sample), so a key with no such file cannot be invoked on."""
    name = Path(key).name
    if not (samples / name).is_file():
        present = ", ".join(sorted(p.name for p in samples.iterdir() if p.is_file())) or "none"
        raise LookupError(
            f"the event names the key {key!r} and {samples} has no {name} to stand for it: "
            f"copy a file named {name} into {samples}, or change the key to end with one of "
            f"the samples ({present})"
        )


def function_logical_id(cloud: LocalCloud, name: str) -> str:
    """The template's function a user means: its logical ID, or that without `Function`."""
    for logical_id in cloud.functions:
        if name.lower() in (logical_id.lower(), logical_id.lower().removesuffix("function")):
            return logical_id
    raise LookupError(
        f"no function {name!r} in template.yaml (functions: {', '.join(cloud.functions)})"
    )


def objects_named_in(event: dict[str, Any]) -> list[tuple[str, str, str]]:
    """The S3 objects an event points at: an EventBridge event, or a task payload."""
    inner = event.get("event", event)
    if "detail" in inner:
        detail = inner["detail"]
        return [
            (
                detail["bucket"]["name"],
                detail["object"]["key"],
                detail["object"].get("version-id", ""),
            )
        ]
    if "bucket" in event and "key" in event:
        return [(event["bucket"], event["key"], event.get("versionId", ""))]
    return []
