"""`mediaflow run`: upload files to the local cloud as a device would, let the workflow process
them, and report each one's record, with the thumbnails, waveforms and histories saved."""

from __future__ import annotations

import argparse
import json
import mimetypes
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mediaflow.cli import history
from mediaflow.cli.tables import summarize_result, table
from mediaflow.localcloud import LocalCloud
from mediaflow.localcloud.faults import FaultCatalogue, parse_fault
from mediaflow.localcloud.template import Stack
from mediaflow.operations.reconcile import ReconcileReport, reconcile
from mediaflow.operations.redrive import RedriveReport, redrive
from mediaflow.operations.stack import media_id

FINAL = ("PROCESSED", "REJECTED")


@dataclass(frozen=True)
class Upload:
    path: Path
    key: str


def add_commands(commands: Any) -> None:
    run = commands.add_parser("run", help="process files end to end on the local cloud")
    run.add_argument("paths", nargs="+", type=Path, metavar="PATH", help="files or folders")
    run.add_argument("--device", default="mediaflow-cli", help="device id in the upload keys")
    run.add_argument("--output", type=Path, default=history.DEFAULT_OUTPUT, help="where results go")
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
    run.set_defaults(command=run_command)


def run_command(args: argparse.Namespace) -> int:
    files = media_files(args.paths)
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
        parameter_overrides=key_value_pairs(args.parameter),
        clock_factor=args.clock_factor,
        faults=faults,
        function_log=log_path,
    ) as cloud:
        print(
            f"Local cloud from {args.project / 'template.yaml'}: bucket {cloud.bucket}, "
            f"state machine {cloud.machine.name}"
        )
        uploads = upload_all(cloud, files, args.device)
        print(f"Uploaded {len(uploads)} file(s); waiting for the workflow …")
        cloud.wait_until_settled(timeout=args.timeout)
        if args.redrive or args.reconcile:
            recover(cloud, args, len(uploads))
        rows, failed = save_results(cloud, uploads, output)
    print(table(["file", "kind", "status", "result / reason", "time"], rows, max_width=90))
    print(
        f"\n{len(uploads)} file(s) in {time.monotonic() - started:.1f} s. Thumbnails and "
        f"waveforms: {output / 'thumbnails'}; records: {output / 'records.json'}; "
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


def key_value_pairs(pairs: list[str]) -> dict[str, str]:
    parsed = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep:
            raise ValueError(f"{pair!r} is not NAME=VALUE")
        parsed[name] = value
    return parsed


def media_files(paths: list[Path]) -> list[Path]:
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


def upload_all(cloud: LocalCloud, files: list[Path], device: str) -> list[Upload]:
    """Each file under the watched folder, as a device uploads it."""
    uploads = []
    for path in files:
        key = f"{cloud.upload_prefix}{device}/{path.name}"
        cloud.upload(
            path.read_bytes(),
            key,
            content_type=mimetypes.guess_type(path.name)[0],
            metadata={"platform": "mediaflow-cli"},
        )
        uploads.append(Upload(path, key))
    return uploads


def recover(cloud: LocalCloud, args: argparse.Namespace, uploads: int) -> None:
    """What an operator does after an outage, on the same local cloud: the injected faults stand
    for the outage, so they end first; each step waits for the executions it started."""
    statuses = Counter(record["status"] for record in cloud.records())
    statuses["with no record"] = uploads - statuses.total()
    print(
        "After the first pass: "
        + ", ".join(f"{count} {status}" for status, count in sorted(statuses.items()) if count)
    )
    cloud.faults.faults.clear()
    resources = cloud.stack_resources()
    reports: list[tuple[str, RedriveReport | ReconcileReport]] = []
    if args.redrive:
        # The local queue answers at once: no need to long-poll it.
        reports.append(
            ("mediaflow redrive", redrive(cloud.sqs, cloud.sfn, resources, wait_seconds=0))
        )
        cloud.wait_until_settled(timeout=args.timeout)
    if args.reconcile:
        reports.append(
            ("mediaflow reconcile", reconcile(cloud.s3, cloud.dynamodb, cloud.sfn, resources))
        )
        cloud.wait_until_settled(timeout=args.timeout)
    for title, report in reports:
        print(f"\n{title}\n{report.summary()}")
    print()


def save_results(
    cloud: LocalCloud, uploads: list[Upload], output: Path
) -> tuple[list[list[object]], int]:
    """The records, histories and derived files, saved in `output`; the report's rows, and how
    many uploads did not end PROCESSED or REJECTED."""
    records = {record["mediaId"]: record for record in cloud.records()}
    executions = history.save_executions(cloud, output)
    rows: list[list[object]] = []
    failed = 0
    for upload in uploads:
        record = records.get(media_id(cloud.bucket, upload.key), {})
        status = record.get("status", "MISSING")
        failed += status not in FINAL
        execution = executions.get(record.get("executionArn", ""), {})
        rows.append(
            [
                upload.path.name,
                record.get("kind", "?"),
                status,
                summarize_result(record),
                history.duration(execution),
            ]
        )
        download_outputs(cloud, record, upload.path, output / "thumbnails")
    (output / "records.json").write_text(json.dumps(list(records.values()), indent=2, default=str))
    return rows, failed


def download_outputs(cloud: LocalCloud, record: dict[str, Any], source: Path, folder: Path) -> None:
    keys = [record.get("image", {}).get("thumbnailKey"), record.get("audio", {}).get("waveformKey")]
    for key in filter(None, keys):
        target = folder / f"{source.stem}.{Path(key).name}"
        target.write_bytes(cloud.s3.get_object(Bucket=cloud.bucket, Key=key)["Body"].read())
