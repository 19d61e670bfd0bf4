"""`mediaflow`: run Mediaflow on the embedded local cloud, with no AWS account and no Docker.

mediaflow run PATH...                 upload files, let the workflow process them, report
mediaflow invoke FUNCTION --event F   run one function on one event (docker-free
                                      `sam local invoke`)
mediaflow executions                  the executions of the last run
mediaflow show EXECUTION              one execution's event history, as the console shows it
mediaflow redrive [--stack-name S]    replay the dead-letter queue of a deployed stack, and
                                      redrive failed executions Step Functions allows
mediaflow reconcile [--stack-name S]  process again every upload of a deployed stack that
                                      has no final record
"""

from __future__ import annotations

import argparse
import json
import mimetypes
import sys
import time
from collections import Counter
from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from mediaflow.cli.tables import history_rows, summarize_result, table
from mediaflow.localcloud.faults import FaultCatalogue, parse_fault
from mediaflow.localcloud.template import Stack, TemplateError
from mediaflow.operations.recovery import (
    UPLOAD_PREFIX,
    ReconcileReport,
    RedriveReport,
    StackResources,
    media_id,
    reconcile,
    redrive,
    upload_prefix,
)

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_OUTPUT = Path("mediaflow-output")
EXECUTIONS_FILE = "executions.json"


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        return int(args.command(args))
    except (ValueError, FileNotFoundError, LookupError, TemplateError) as error:
        print(f"mediaflow: {error}", file=sys.stderr)
        return 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mediaflow", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--project",
        type=Path,
        default=ROOT,
        help="folder with template.yaml (default: %(default)s)",
    )
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    run = commands.add_parser("run", help="process files end to end on the local cloud")
    run.add_argument("paths", nargs="+", type=Path, metavar="PATH", help="files or folders")
    run.add_argument("--device", default="mediaflow-cli", help="device id in the upload keys")
    run.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help="where results go")
    run.add_argument(
        "--parameter",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="override a template parameter, e.g. ThumbnailSize=512 (repeatable)",
    )
    run.add_argument(
        "--fault",
        action="append",
        default=[],
        metavar="TARGET=ERROR[:TIMES]",
        help="inject a fault, e.g. ThumbnailFunction=Lambda.TooManyRequestsException:2",
    )
    run.add_argument(
        "--clock-factor",
        type=float,
        default=1.0,
        help="run retry back-off this many times faster (default: real time)",
    )
    run.add_argument(
        "--timeout", type=float, default=600.0, help="seconds to wait for the workflow"
    )
    run.add_argument(
        "--redrive",
        action="store_true",
        help="then, with the faults cleared, replay the dead-letter queue (as `mediaflow redrive`)",
    )
    run.add_argument(
        "--reconcile",
        action="store_true",
        help="then, with the faults cleared, process again what has no final record "
        "(as `mediaflow reconcile`)",
    )
    run.set_defaults(command=_run)

    invoke = commands.add_parser("invoke", help="run one function on one event")
    invoke.add_argument("function", help="logical ID in template.yaml, e.g. InspectFunction")
    invoke.add_argument("--event", "-e", type=Path, required=True, help="event JSON file")
    invoke.set_defaults(command=_invoke)

    executions = commands.add_parser("executions", help="list the executions of the last run")
    executions.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    executions.set_defaults(command=_executions)

    show = commands.add_parser("show", help="show one execution's event history")
    show.add_argument("execution", help="execution name, ARN, or the start of either")
    show.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    show.set_defaults(command=_show)

    redrive_command = commands.add_parser(
        "redrive", help="replay the dead-letter queue and redrive failed executions (AWS)"
    )
    _add_stack_arguments(redrive_command)
    redrive_command.set_defaults(command=_redrive)

    reconcile_command = commands.add_parser(
        "reconcile", help="process again every upload with no final record (AWS)"
    )
    _add_stack_arguments(reconcile_command)
    reconcile_command.add_argument(
        "--min-age",
        type=float,
        default=900.0,
        metavar="SECONDS",
        help="skip objects younger than this: their own event may still be on its way "
        "(default: %(default).0f)",
    )
    reconcile_command.set_defaults(command=_reconcile)
    return parser


def _add_stack_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--stack-name", default="mediaflow", help="deployed stack (default: %(default)s)"
    )
    parser.add_argument("--region", help="AWS Region (default: the profile's or environment's)")
    parser.add_argument("--profile", help="AWS named profile (default: the environment's)")
    parser.add_argument(
        "--prefix",
        type=_upload_prefix,
        default=UPLOAD_PREFIX,
        help="only keys under this prefix (default: %(default)s)",
    )
    parser.add_argument("--dry-run", action="store_true", help="say what would be done; do nothing")


def _upload_prefix(text: str) -> str:
    try:
        return upload_prefix(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from error


def _key_value_pairs(pairs: list[str]) -> dict[str, str]:
    parsed = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep:
            raise ValueError(f"{pair!r} is not NAME=VALUE")
        parsed[name] = value
    return parsed


def _media_files(paths: list[Path]) -> list[Path]:
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files += sorted(
                child
                for child in path.rglob("*")
                if child.is_file() and not any(part.startswith(".") for part in child.parts)
            )
        elif path.is_file():
            files.append(path)
        else:
            raise FileNotFoundError(f"{path} does not exist")
    return files


def _run(args: argparse.Namespace) -> int:
    from mediaflow.localcloud import LocalCloud

    files = _media_files(args.paths)
    if not files:
        raise ValueError("no files to process")
    output: Path = args.output
    (output / "thumbnails").mkdir(parents=True, exist_ok=True)
    catalogue = FaultCatalogue.of(Stack(args.project))
    faults = [parse_fault(text, catalogue) for text in args.fault]
    # Lambda logs go to CloudWatch; here they go to a file, so the report stays readable.
    log_path = output / "functions.log"
    log_path.write_text("")
    started = time.monotonic()
    with LocalCloud(
        args.project,
        parameter_overrides=_key_value_pairs(args.parameter),
        clock_factor=args.clock_factor,
        faults=faults,
        function_log=log_path,
    ) as cloud:
        print(
            f"Local cloud from {args.project / 'template.yaml'}: bucket {cloud.bucket}, "
            f"state machine {cloud.machine.name}"
        )
        uploads = []
        for path in files:
            key = f"uploads/{args.device}/{path.name}"
            content_type = mimetypes.guess_type(path.name)[0]
            cloud.upload(
                path.read_bytes(),
                key,
                content_type=content_type,
                metadata={"platform": "mediaflow-cli"},
            )
            uploads.append((path, key))
        print(f"Uploaded {len(uploads)} file(s); waiting for the workflow …")
        cloud.wait_until_settled(timeout=args.timeout)
        if args.redrive or args.reconcile:
            _recover_locally(cloud, args, uploads=len(uploads))
        records = {record["mediaId"]: record for record in cloud.records()}
        executions = _save_executions(cloud, output)
        rows, failed = [], 0
        for path, key in uploads:
            record = records.get(media_id(cloud.bucket, key), {})
            status = record.get("status", "MISSING")
            failed += status not in ("PROCESSED", "REJECTED")
            execution = executions.get(record.get("executionArn", ""), {})
            rows.append(
                [
                    path.name,
                    record.get("kind", "?"),
                    status,
                    summarize_result(record),
                    _duration(execution),
                ]
            )
            _download_outputs(cloud, record, path, output / "thumbnails")
        (output / "records.json").write_text(
            json.dumps(list(records.values()), indent=2, default=str)
        )
    print(table(["file", "kind", "status", "result / reason", "time"], rows, max_width=90))
    elapsed = time.monotonic() - started
    print(
        f"\n{len(uploads)} file(s) in {elapsed:.1f} s. Thumbnails and waveforms: "
        f"{output / 'thumbnails'}; records: {output / 'records.json'}; "
        f"function logs: {log_path}; histories: `mediaflow executions`, `mediaflow show NAME`."
    )
    if cloud.faults.injected:
        print(
            "Injected faults: " + ", ".join(f"{k} x{v}" for k, v in cloud.faults.injected.items())
        )
    if failed:
        print(f"{failed} upload(s) did not end PROCESSED or REJECTED.", file=sys.stderr)
        return 1
    return 0


def _recover_locally(cloud: Any, args: argparse.Namespace, uploads: int) -> None:
    """What an operator does after an outage, on the same local cloud: the injected faults stand
    for the outage, so they end first; each step waits for the executions it started."""
    statuses = Counter(record["status"] for record in cloud.records())
    statuses["with no record"] = uploads - statuses.total()
    print(
        "After the first pass: "
        + ", ".join(f"{count} {status}" for status, count in sorted(statuses.items()) if count)
    )
    cloud.faults.faults.clear()
    resources = StackResources.from_local_cloud(cloud)
    reports: list[tuple[str, RedriveReport | ReconcileReport]] = []
    if args.redrive:
        # The local queue answers at once: no need to long-poll it.
        redriven = redrive(cloud.sqs, cloud.sfn, resources, wait_seconds=0)
        cloud.wait_until_settled(timeout=args.timeout)
        reports.append(("mediaflow redrive", redriven))
    if args.reconcile:
        reconciled = reconcile(cloud.s3, cloud.dynamodb, cloud.sfn, resources)
        cloud.wait_until_settled(timeout=args.timeout)
        reports.append(("mediaflow reconcile", reconciled))
    for title, report in reports:
        print(f"\n{title}\n{report.summary()}")
    print()


def _stack(args: argparse.Namespace) -> tuple[Any, StackResources]:
    """The boto3 session and the deployed stack's resources that `redrive` and `reconcile` use."""
    import boto3

    session = boto3.Session(profile_name=args.profile, region_name=args.region)
    resources = StackResources.from_stack(session.client("cloudformation"), args.stack_name)
    print(
        f"Stack {args.stack_name} in {session.region_name}: bucket {resources.bucket}, "
        f"table {resources.table}"
    )
    return session, resources


def _redrive(args: argparse.Namespace) -> int:
    try:
        session, resources = _stack(args)
        report = redrive(
            session.client("sqs"),
            session.client("stepfunctions"),
            resources,
            prefix=args.prefix,
            dry_run=args.dry_run,
        )
    except (BotoCoreError, ClientError) as error:
        print(f"mediaflow: {error}", file=sys.stderr)
        return 2
    print(report.summary())
    # Messages left in the queue need a person: say so to scripts too.
    return 1 if report.left_in_queue else 0


def _reconcile(args: argparse.Namespace) -> int:
    try:
        session, resources = _stack(args)
        report = reconcile(
            session.client("s3"),
            session.client("dynamodb"),
            session.client("stepfunctions"),
            resources,
            prefix=args.prefix,
            dry_run=args.dry_run,
            min_age=timedelta(seconds=args.min_age),
        )
    except (BotoCoreError, ClientError) as error:
        print(f"mediaflow: {error}", file=sys.stderr)
        return 2
    print(report.summary())
    return 0


def _duration(execution: dict[str, Any]) -> str:
    if not execution.get("stopDate"):
        return ""
    seconds = (
        datetime.fromisoformat(execution["stopDate"])
        - datetime.fromisoformat(execution["startDate"])
    ).total_seconds()
    return f"{seconds:.2f} s"


def _download_outputs(cloud: Any, record: dict[str, Any], source: Path, folder: Path) -> None:
    keys = [record.get("image", {}).get("thumbnailKey"), record.get("audio", {}).get("waveformKey")]
    for key in filter(None, keys):
        target = folder / f"{source.stem}.{Path(key).name}"
        target.write_bytes(cloud.s3.get_object(Bucket=cloud.bucket, Key=key)["Body"].read())


def _save_executions(cloud: Any, output: Path) -> dict[str, dict[str, Any]]:
    """The local cloud lives as long as the command; its histories are kept for `show`."""
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


def _load_executions(output: Path) -> list[dict[str, Any]]:
    path = output / EXECUTIONS_FILE
    if not path.is_file():
        raise FileNotFoundError(f"no executions saved in {output}: run `mediaflow run PATH` first")
    return list(json.loads(path.read_text()))


def _executions(args: argparse.Namespace) -> int:
    rows = [
        [
            execution["name"],
            execution["status"],
            execution["startDate"],
            _duration(execution),
            execution["key"],
            execution.get("error") or "",
        ]
        for execution in _load_executions(args.output)
    ]
    print(table(["name", "status", "started", "time", "object", "error"], rows, max_width=70))
    return 0


def _show(args: argparse.Namespace) -> int:
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


def _invoke(args: argparse.Namespace) -> int:
    from mediaflow.localcloud import LocalCloud

    event = json.loads(args.event.read_text())
    # As `sam local invoke`: the function's logs on stderr, its answer alone on stdout.
    with LocalCloud(args.project, deliver_events=False, function_log=Path("/dev/stderr")) as cloud:
        logical_id = _function_logical_id(cloud, args.function)
        for bucket, key, version in _objects_named_in(event):
            cloud.seed_sample(bucket, key, version, args.project / "samples")
        invocation = cloud.invoke(logical_id, event)
    print(json.dumps(invocation.payload, indent=2))
    return 1 if invocation.function_error else 0


def _function_logical_id(cloud: Any, name: str) -> str:
    for logical_id in cloud.functions:
        if name.lower() in (logical_id.lower(), logical_id.lower().removesuffix("function")):
            return str(logical_id)
    raise LookupError(
        f"no function {name!r} in template.yaml (functions: {', '.join(cloud.functions)})"
    )


def _objects_named_in(event: dict[str, Any]) -> list[tuple[str, str, str]]:
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
