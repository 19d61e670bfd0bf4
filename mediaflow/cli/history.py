"""`mediaflow executions` and `mediaflow show`: the executions of the last run, and one
execution's history as the Step Functions console shows it. The local cloud lives as long as one
command, so `run` saves the histories in its output folder for these to read."""

from __future__ import annotations

import argparse
import json
from datetime import datetime
from pathlib import Path
from typing import Any

from mediaflow.cli.tables import history_rows, table
from mediaflow.localcloud import LocalCloud

DEFAULT_OUTPUT = Path("mediaflow-output")
EXECUTIONS_FILE = "executions.json"


def add_commands(commands: Any) -> None:
    executions = commands.add_parser("executions", help="list the executions of the last run")
    executions.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    executions.set_defaults(command=executions_command)

    show = commands.add_parser("show", help="show one execution's event history")
    show.add_argument("execution", help="execution name, ARN, or the start of either")
    show.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    show.set_defaults(command=show_command)


def save_executions(cloud: LocalCloud, output: Path) -> dict[str, dict[str, Any]]:
    """Every execution of the local cloud with its history, saved for `show`; by ARN."""
    saved = {}
    for execution in cloud.executions():
        arn = execution["executionArn"]
        described = cloud.sfn.describe_execution(executionArn=arn)
        saved[arn] = {
            "executionArn": arn,
            "name": execution["name"],
            "status": execution["status"],
            "startDate": execution["startDate"].isoformat(),
            "stopDate": execution["stopDate"].isoformat() if execution.get("stopDate") else None,
            "key": json.loads(described["input"])["detail"]["object"]["key"],
            "error": described.get("error"),
            "cause": described.get("cause"),
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


def executions_command(args: argparse.Namespace) -> int:
    rows = [
        [
            execution["name"],
            execution["status"],
            execution["startDate"],
            duration(execution),
            execution["key"],
            execution.get("error") or "",
        ]
        for execution in _load_executions(args.output)
    ]
    print(table(["name", "status", "started", "time", "object", "error"], rows, max_width=70))
    return 0


def show_command(args: argparse.Namespace) -> int:
    wanted = args.execution
    matches = [
        execution
        for execution in _load_executions(args.output)
        if execution["name"].startswith(wanted) or execution["executionArn"].startswith(wanted)
    ]
    if len(matches) != 1:
        raise LookupError(f"{len(matches)} executions match {wanted!r}; give more of the name")
    execution = matches[0]
    events = [
        {**event, "timestamp": datetime.fromisoformat(event["timestamp"])}
        for event in execution["history"]
    ]
    print(f"{execution['executionArn']}\nobject {execution['key']} — {execution['status']}\n")
    print(
        table(["id", "type", "state", "time", "error / cause"], history_rows(events), max_width=100)
    )
    return 0


def _load_executions(output: Path) -> list[dict[str, Any]]:
    path = output / EXECUTIONS_FILE
    if not path.is_file():
        raise FileNotFoundError(f"no executions saved in {output}: run `mediaflow run PATH` first")
    return list(json.loads(path.read_text()))
