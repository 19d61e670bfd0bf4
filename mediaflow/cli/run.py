"""`mediaflow run`: upload files to the local cloud as a device would, let the workflow process
them, and report each one's record, with the thumbnails, waveforms and histories saved.

Exit status: 0 when every file ended PROCESSED or REJECTED; 1 when any did not (FAILED, not
final, or a file that could not be read, said in one line); 2 for a mistake (a wrong path,
option or parameter, an output folder another run holds) and when the workflow is not done at
--timeout; 130 on Ctrl-C. A run stopped early still saves what finished.
"""

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

from boto3.s3.transfer import TransferConfig

from mediaflow.cli import costs, history, output_folder
from mediaflow.cli.inputs import GivenFile, UnreadableFile, given_files, opened
from mediaflow.cli.inputs import media_files as media_files  # `mediaflow upload` lists alike
from mediaflow.cli.progress import Progress
from mediaflow.cli.tables import summarize_result, table
from mediaflow.localcloud import LocalCloud
from mediaflow.localcloud.cloud import LocalCloudTimeout
from mediaflow.localcloud.faults import FaultCatalogue, parse_fault
from mediaflow.localcloud.template import Stack
from mediaflow.operations.reconcile import ReconcileReport, reconcile
from mediaflow.operations.redrive import RedriveReport, redrive
from mediaflow.operations.stack import media_id

FINAL = ("PROCESSED", "REJECTED")
ENDED = (*FINAL, "FAILED")
NOT_READ = "NOT READ"
# How often the records are read while waiting, for the progress line.
POLL_SECONDS = 0.5
# The AWS CLI's and SDK's defaults: 8 MiB parts above 8 MiB, which also gives a large file's
# progress in bytes (https://docs.aws.amazon.com/cli/latest/topic/s3-config.html).
TRANSFER = TransferConfig(multipart_threshold=8 * 1024 * 1024, max_concurrency=4)


@dataclass(frozen=True)
class Upload:
    file: GivenFile
    key: str
    error: str = ""  # why it was not uploaded


class Stopped(Exception):
    """The run ended before the workflow was done: a timeout or Ctrl-C."""

    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.code = code


def add_commands(commands: Any) -> None:
    run = commands.add_parser(
        "run",
        help="process files end to end on the local cloud",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    run.add_argument(
        "paths",
        nargs="+",
        type=Path,
        metavar="PATH",
        help="files or folders; a folder's structure is kept in the upload keys and outputs",
    )
    run.add_argument(
        "--device",
        default="mediaflow-cli",
        help="device id in the upload keys (default: %(default)s)",
    )
    run.add_argument(
        "--output",
        type=Path,
        default=history.DEFAULT_OUTPUT,
        help="folder the records, thumbnails, waveforms, histories and function logs go to "
        "(default: %(default)s)",
    )
    run.add_argument(
        "--parameter",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="override a template parameter, e.g. ThumbnailSize=512 (repeatable; default: the "
        "template's defaults)",
    )
    run.add_argument(
        "--fault",
        action="append",
        default=[],
        metavar="TARGET=ERROR[:TIMES]",
        help="inject a fault, e.g. ThumbnailFunction=Lambda.TooManyRequestsException:2 "
        "(repeatable; default: none)",
    )
    run.add_argument(
        "--clock-factor",
        type=float,
        default=1.0,
        metavar="FACTOR",
        help="run retry back-off this many times faster (default: %(default)s, real time)",
    )
    run.add_argument(
        "--timeout",
        type=float,
        default=600.0,
        metavar="SECONDS",
        help="seconds to wait for the workflow (default: %(default).0f)",
    )
    run.add_argument(
        "--redrive",
        action="store_true",
        help="then, with the faults cleared, replay the dead-letter queue (as `mediaflow "
        "redrive`; default: off)",
    )
    run.add_argument(
        "--reconcile",
        action="store_true",
        help="then, with the faults cleared, process again what has no final record "
        "(as `mediaflow reconcile`; default: off)",
    )
    run.set_defaults(command=run_command)


def run_command(args: argparse.Namespace) -> int:
    for option, value in (("--clock-factor", args.clock_factor), ("--timeout", args.timeout)):
        if not value > 0:
            raise ValueError(f"{option} must be more than 0, not {value:g}")
    files = given_files(args.paths)
    if not files:
        raise ValueError("no files to process")
    catalogue = FaultCatalogue.of(Stack(args.project))
    faults = [parse_fault(text, catalogue) for text in args.fault]
    output: Path = args.output
    output_folder.prepare(output)
    with output_folder.held(output):
        return _run(args, files, faults, output)


def _run(args: argparse.Namespace, files: list[GivenFile], faults: list[Any], output: Path) -> int:
    # Lambda logs go to CloudWatch; here they go to a file, so the report stays readable.
    log_path = output / "functions.log"
    log_path.write_text("")
    started = time.monotonic()
    progress = Progress(len(files), sum(_size(given.path) for given in files))
    stopped: Stopped | None = None
    with LocalCloud(
        args.project,
        parameter_overrides=key_value_pairs(args.parameter),
        clock_factor=args.clock_factor,
        faults=faults,
        function_log=log_path,
    ) as cloud:
        print(
            f"Local cloud from {args.project / 'template.yaml'}: bucket {cloud.bucket}, "
            f"state machine {cloud.machine.name}",
            flush=True,
        )
        uploads: list[Upload] = []
        try:
            uploads = upload_all(cloud, files, args.device, progress)
            progress.end()  # the terminal's line stays; what follows goes below it
            sent = [upload for upload in uploads if not upload.error]
            print(f"Uploaded {len(sent)} file(s); waiting for the workflow …", flush=True)
            wait_for_workflow(cloud, sent, args.timeout, progress)
            progress.end()
            if args.redrive or args.reconcile:
                recover(cloud, args, len(sent))
        except LocalCloudTimeout:
            stopped = Stopped(f"the workflow was not done after --timeout {args.timeout:g} s", 2)
        except KeyboardInterrupt:
            stopped = Stopped("interrupted", 130)
        progress.end()
        # What finished is saved whatever stopped the run; a second Ctrl-C ends it at once.
        rows, failed = save_results(cloud, uploads or _not_uploaded(files), output)
        usage = costs.measure(cloud)
    print_report(rows, output, log_path, time.monotonic() - started, cloud)
    print(costs.report(*usage))
    if stopped is not None:
        done = sum(row[2] in ENDED for row in rows)
        print(
            f"mediaflow: {stopped}: {done} of {len(files)} file(s) finished; their records and "
            f"outputs are in {output}",
            file=sys.stderr,
        )
        return stopped.code
    if failed:
        print(f"mediaflow: {failed} file(s) did not end PROCESSED or REJECTED", file=sys.stderr)
        return 1
    return 0


def print_report(
    rows: list[list[object]], output: Path, log_path: Path, seconds: float, cloud: LocalCloud
) -> None:
    """The table of files and what was saved where; a later section goes after it."""
    print(table(["file", "kind", "status", "result / reason", "time"], rows, max_width=90))
    print(
        f"\n{len(rows)} file(s) in {seconds:.1f} s. Thumbnails and "
        f"waveforms: {output / 'thumbnails'}; records: {output / 'records.json'}; "
        f"function logs: {log_path}; histories: `mediaflow executions`, `mediaflow show NAME`."
    )
    if cloud.faults.injected:
        print(
            "Injected faults: " + ", ".join(f"{k} x{v}" for k, v in cloud.faults.injected.items())
        )


def key_value_pairs(pairs: list[str]) -> dict[str, str]:
    parsed = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep:
            raise ValueError(f"{pair!r} is not NAME=VALUE")
        parsed[name] = value
    return parsed


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def upload_all(
    cloud: LocalCloud, files: list[GivenFile], device: str, progress: Progress
) -> list[Upload]:
    """Each file, as a device uploads it, under its path below the path given. A file that
    cannot be read is said in one line and the others still go."""
    uploads = []
    for given in files:
        key = f"{cloud.upload_prefix}{device}/{given.name}"
        try:
            with opened(given) as body:
                cloud.s3.upload_fileobj(
                    body,
                    cloud.bucket,
                    key,
                    ExtraArgs={
                        "ContentType": mimetypes.guess_type(given.name)[0]
                        or "application/octet-stream",
                        "Metadata": {"platform": "mediaflow-cli"},
                    },
                    Callback=progress.sent,
                    Config=TRANSFER,
                )
        except UnreadableFile as error:
            progress.say(f"mediaflow: cannot read {given.path}: {error}; the other files go on")
            uploads.append(Upload(given, key, error=f"cannot read: {error}"))
            continue
        progress.uploaded()
        uploads.append(Upload(given, key))
    return uploads


def _not_uploaded(files: list[GivenFile]) -> list[Upload]:
    return [Upload(given, "", error="not uploaded") for given in files]


def wait_for_workflow(
    cloud: LocalCloud, uploads: list[Upload], timeout: float, progress: Progress
) -> None:
    """Wait until every execution has ended, saying each file's outcome as it is known;
    LocalCloudTimeout when they have not at `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        remaining = deadline - time.monotonic()
        try:
            cloud.wait_until_settled(timeout=max(0.0, min(POLL_SECONDS, remaining)))
            settled = True
        except LocalCloudTimeout:
            if remaining <= 0:
                raise
            settled = False
        _report_outcomes(cloud, uploads, progress)
        if settled:
            return


def _report_outcomes(cloud: LocalCloud, uploads: list[Upload], progress: Progress) -> None:
    records = {record["mediaId"]: record for record in cloud.records()}
    for upload in uploads:
        status = str(records.get(media_id(cloud.bucket, upload.key), {}).get("status", ""))
        progress.outcome(upload.file.name, status, status in ENDED)
    progress.processing(len(uploads))


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
    many files did not end PROCESSED or REJECTED."""
    records = {record["mediaId"]: record for record in cloud.records()}
    executions = history.save_executions(cloud, output)
    rows: list[list[object]] = []
    failed = 0
    for upload in uploads:
        if upload.error:
            rows.append([upload.file.name, "?", NOT_READ, upload.error, ""])
            failed += 1
            continue
        record = records.get(media_id(cloud.bucket, upload.key), {})
        status = record.get("status", "MISSING")
        failed += status not in FINAL
        execution = executions.get(record.get("executionArn", ""), {})
        rows.append(
            [
                upload.file.name,
                record.get("kind", "?"),
                status,
                summarize_result(record),
                history.duration(execution),
            ]
        )
        download_outputs(cloud, record, upload.file.name, output / "thumbnails")
    (output / "records.json").write_text(json.dumps(list(records.values()), indent=2, default=str))
    return rows, failed


def download_outputs(cloud: LocalCloud, record: dict[str, Any], name: str, folder: Path) -> None:
    """The record's thumbnail and waveform, each named after the file it came from."""
    keys = [record.get("image", {}).get("thumbnailKey"), record.get("audio", {}).get("waveformKey")]
    for key in filter(None, keys):
        target = output_folder.derived_path(folder, name, Path(key).name)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(cloud.s3.get_object(Bucket=cloud.bucket, Key=key)["Body"].read())
