"""`mediaflow executions` and `mediaflow show`: the executions of the last run, and one
execution's history as the Step Functions console shows it. The local cloud lives as long as one
command, so `run` saves the histories in its output folder for these to read."""

from __future__ import annotations

import argparse
import json
from datetime import datetime
from pathlib import Path
from typing import Any

from mediaflow.cli.event_tree import event_details
from mediaflow.cli.history_view import ViewOptions, render
from mediaflow.cli.tables import table
from mediaflow.localcloud import LocalCloud

DEFAULT_OUTPUT = Path("mediaflow-output")
EXECUTIONS_FILE = "executions.json"
# The fields of a record that say what became of an upload.
RECORD_OUTCOME = ("status", "reason", "error", "cause")
# An ambiguous name lists at most this many of the executions it matches.
MAX_CANDIDATES = 6


def add_commands(commands: Any) -> None:
    output_help = "the output folder of the run to read (default: %(default)s)"
    executions = commands.add_parser(
        "executions", help="list the executions of the last run, with each record's outcome"
    )
    executions.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help=output_help)
    executions.set_defaults(command=executions_command)

    show = commands.add_parser(
        "show", help="show one execution's states and events, as the Step Functions console does"
    )
    show.add_argument(
        "execution",
        help="execution name or ARN, a unique start of the name, or the uploaded file's name "
        "(the end of its key, e.g. photo.jpg)",
    )
    show.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help=output_help)
    show.add_argument(
        "--io",
        action="store_true",
        help="print each state's input and output (JSON, cut when long)",
    )
    show.add_argument(
        "--events", action="store_true", help="list every history event under its state"
    )
    show.set_defaults(command=show_command)


def save_executions(cloud: LocalCloud, output: Path) -> dict[str, dict[str, Any]]:
    """Every execution of the local cloud with its history, saved for `show`; by ARN. Each keeps
    the outcome of the record it wrote, when the record is still its own: a REJECTED upload's
    execution SUCCEEDED, so its status alone does not say what became of the upload."""
    records = {record.get("executionArn"): record for record in cloud.records()}
    saved = {}
    for execution in cloud.executions():
        arn = execution["executionArn"]
        described = cloud.sfn.describe_execution(executionArn=arn)
        record = records.get(arn)
        saved[arn] = {
            "executionArn": arn,
            "name": execution["name"],
            "status": execution["status"],
            "startDate": execution["startDate"].isoformat(),
            "stopDate": execution["stopDate"].isoformat() if execution.get("stopDate") else None,
            "key": json.loads(described["input"])["detail"]["object"]["key"],
            "error": described.get("error"),
            "cause": described.get("cause"),
            "record": (
                {name: record[name] for name in RECORD_OUTCOME if name in record}
                if record
                else None
            ),
            "history": [
                {**event, "timestamp": event["timestamp"].isoformat()}
                for event in cloud.history(arn)
            ],
        }
    (output / EXECUTIONS_FILE).write_text(json.dumps(list(saved.values()), indent=2, default=str))
    return saved


def duration(execution: dict[str, Any]) -> str:
    if not execution.get("stopDate"):
        return ""
    seconds = (
        datetime.fromisoformat(execution["stopDate"])
        - datetime.fromisoformat(execution["startDate"])
    ).total_seconds()
    return f"{seconds:.2f} s"


def outcome(execution: dict[str, Any]) -> str:
    """What became of the upload, as its record says: PROCESSED, REJECTED with the reason,
    FAILED with the error; or the state an execution ended in when the record is not its own
    (a duplicate, or an execution a later one replaced)."""
    record = execution.get("record")
    if record:
        status = str(record.get("status", "?"))
        if status == "REJECTED":
            return f"REJECTED: {record.get('reason', '')}"
        if status == "FAILED":
            return f"FAILED: {record.get('error', '')}: {record.get('cause', '')}"
        return status
    last_state = next(
        (
            event_details(event).get("name")
            for event in reversed(execution.get("history", []))
            if event["type"].endswith("StateEntered")
        ),
        None,
    )
    ended = f"this one ended in {last_state!r}" if last_state else "this one entered no state"
    return f"record now another execution's ({ended})"


def executions_command(args: argparse.Namespace) -> int:
    rows = [
        [
            execution["name"],
            execution["status"],
            outcome(execution),
            execution["startDate"],
            duration(execution),
            execution["key"],
            execution.get("error") or "",
        ]
        for execution in _load_executions(args.output)
    ]
    print(
        table(
            ["name", "status", "upload", "started", "time", "object", "error"], rows, max_width=70
        )
    )
    return 0


def show_command(args: argparse.Namespace) -> int:
    execution = find_execution(_load_executions(args.output), args.execution)
    options = ViewOptions(io=args.io, events=args.events)
    print(render(execution, "upload " + outcome(execution), options))
    return 0


def find_execution(executions: list[dict[str, Any]], wanted: str) -> dict[str, Any]:
    """The execution a user means: its name or ARN, a unique start of its name or ARN, or the
    uploaded file's name (its key ends with it)."""
    for execution in executions:
        if wanted in (execution["name"], execution["executionArn"]):
            return execution
    matches = [
        execution
        for execution in executions
        if execution["name"].startswith(wanted)
        or execution["executionArn"].startswith(wanted)
        or _key_ends_with(str(execution.get("key", "")), wanted)
    ]
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise LookupError(
            f"no execution matches {wanted!r} by name, ARN or file name; "
            "`mediaflow executions` lists them"
        )
    shown = ", ".join(
        f"{execution['name']} ({execution['status']}, {execution.get('key', '?')})"
        for execution in matches[:MAX_CANDIDATES]
    )
    more = f" and {len(matches) - MAX_CANDIDATES} more" if len(matches) > MAX_CANDIDATES else ""
    raise LookupError(f"{len(matches)} executions match {wanted!r}: {shown}{more}; give one name")


def _key_ends_with(key: str, wanted: str) -> bool:
    """`photo.jpg` and `cli/photo.jpg` name `uploads/cli/photo.jpg`; `hoto.jpg` does not."""
    return bool(key) and (key == wanted or key.endswith("/" + wanted.lstrip("/")))


def _load_executions(output: Path) -> list[dict[str, Any]]:
    path = output / EXECUTIONS_FILE
    if not path.is_file():
        raise FileNotFoundError(f"no executions saved in {output}: run `mediaflow run PATH` first")
    executions = list(json.loads(path.read_text()))
    # Runs saved before executions kept their record's outcome: the run's records.json has it.
    records_path = output / "records.json"
    if any("record" not in execution for execution in executions) and records_path.is_file():
        records = {
            record.get("executionArn"): record for record in json.loads(records_path.read_text())
        }
        for execution in executions:
            if "record" not in execution and execution["executionArn"] in records:
                record = records[execution["executionArn"]]
                execution["record"] = {k: record[k] for k in RECORD_OUTCOME if k in record}
    return executions
