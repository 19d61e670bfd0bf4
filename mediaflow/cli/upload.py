"""`mediaflow upload FILE... --device NAME`: the reference device client (mediaflow/device_client)
as a command. It signs in as the device (no AWS credentials), uploads each file through the
device API (a presigned POST, or multipart with resume above the API's threshold), waits until
each record is final and prints one line per file and a summary.

Exit status: 0 when every file ended PROCESSED (or, with --no-wait, every file is uploaded);
1 when any did not (REJECTED, FAILED, refused by the API or S3, or not final at the timeout), so
a script notices a rejected file as it notices a failed one; 2 when nothing could be tried
(a wrong path, an unreadable file, no credentials, a wrong password, no serve running).
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from mediaflow.cli.run import media_files
from mediaflow.cli.tables import summarize_result
from mediaflow.device_client.api_client import DeviceApi
from mediaflow.device_client.errors import DeviceClientError
from mediaflow.device_client.polling import TERMINAL, wait_for_records
from mediaflow.device_client.upload_state import UploadState
from mediaflow.device_client.uploader import Uploaded, Uploader
from mediaflow.devices.credentials import CredentialStore
from mediaflow.devices.state import state_dir
from mediaflow.devices.targets import Target
from mediaflow.localcloud.user_pool import PrincipalError, Tokens

PASSWORD_VARIABLE = "MEDIAFLOW_DEVICE_PASSWORD"


def add_commands(commands: Any) -> None:
    upload = commands.add_parser(
        "upload",
        help="upload files as a device through the device API, and wait for their records",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    upload.add_argument("paths", nargs="+", type=Path, metavar="FILE", help="files or folders")
    upload.add_argument("--device", required=True, metavar="NAME", help="the device to sign in as")
    upload.add_argument(
        "--stack-name", help="a deployed stack (default: the running `mediaflow serve`)"
    )
    upload.add_argument("--region", help="its AWS Region (default: the profile's or environment's)")
    upload.add_argument(
        "--profile", help="AWS profile that reads the stack's outputs (the device needs none)"
    )
    upload.add_argument(
        "--password-file",
        type=Path,
        metavar="FILE",
        help=f"the device's password (default: ${PASSWORD_VARIABLE}, else the credentials "
        "`mediaflow devices add` saved)",
    )
    upload.add_argument(
        "--timeout",
        type=float,
        default=300.0,
        metavar="SECONDS",
        help="how long to wait for the records once uploaded (default: %(default).0f)",
    )
    upload.add_argument(
        "--no-wait", action="store_true", help="stop once the files are uploaded; print media ids"
    )
    upload.add_argument(
        "--concurrency",
        type=int,
        default=4,
        metavar="N",
        help="files uploaded at once (default: %(default)s)",
    )
    upload.set_defaults(command=upload_command)


def upload_command(args: argparse.Namespace) -> int:
    files = media_files(args.paths)
    if not files:
        raise ValueError("no files to upload")
    for path in files:
        if not os.access(path, os.R_OK):
            raise ValueError(f"cannot read {path}: permission denied")
    if args.concurrency < 1:
        raise ValueError("--concurrency must be at least 1")
    if args.stack_name:
        target = Target.deployed(args.stack_name, args.region, args.profile)
    else:
        target = Target.local(args.project)
    password = _password(args, target)
    api = DeviceApi(target.api_url, lambda: _sign_in(target, args.device, password))
    try:
        api.sign_in()
    except DeviceClientError as error:
        print(f"mediaflow: {error}", file=sys.stderr)
        return 2
    state = UploadState(state_dir(args.project), target.name, args.device)
    report = Report(files)
    return run_uploads(
        Uploader(api, state), files, report, args.timeout, args.no_wait, args.concurrency
    )


def _sign_in(target: Target, device: str, password: str) -> Tokens:
    """The target's sign-in, its failures (a wrong password, a serve that stopped) said in the
    device client's one line, also when a token is renewed mid-run."""
    try:
        return target.sign_in(device, password)
    except PrincipalError as error:
        raise DeviceClientError(str(error)) from None
    except (BotoCoreError, ClientError) as error:
        raise DeviceClientError(f"cannot sign in on {target.name}: {error}") from None


def _password(args: argparse.Namespace, target: Target) -> str:
    if args.password_file is not None:
        try:
            return str(args.password_file.read_text(encoding="utf-8").strip())
        except OSError as error:
            raise ValueError(f"cannot read {args.password_file}: {error.strerror}") from None
    if os.environ.get(PASSWORD_VARIABLE):
        return os.environ[PASSWORD_VARIABLE]
    return CredentialStore.of(args.project, target.name).load(args.device).password


def run_uploads(
    uploader: Uploader,
    files: list[Path],
    report: Report,
    timeout: float,
    no_wait: bool,
    concurrency: int = 4,
) -> int:
    """Uploads every file, then waits for their records; the exit status."""

    def send(path: Path) -> tuple[Path, Uploaded | None]:
        try:
            return path, uploader.upload(path)
        except DeviceClientError as error:
            report.line(path, "NOT UPLOADED", "", str(error))
            return path, None

    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        sent = [(path, done) for path, done in pool.map(send, files) if done is not None]
    if no_wait:
        for path, done in sent:
            detail = (
                f"resumed, {len(done.parts_sent)} of {done.part_count} parts sent"
                if done.resumed
                else ""
            )
            report.line(path, "UPLOADED", done.media_id, detail)
        return report.summary()
    by_id = {done.media_id: path for path, done in sent}

    def finished(media_id: str, record: dict[str, Any]) -> None:
        report.record(by_id[media_id], record)

    last = wait_for_records(
        uploader.api, list(by_id), timeout=timeout, on_record=finished, workers=concurrency
    )
    for media_id, record in last.items():
        if record.get("status") not in TERMINAL and not report.has(by_id[media_id]):
            why = record.get("error") or f"not final after {timeout:.0f} s"
            report.line(by_id[media_id], str(record.get("status", "UNKNOWN")), "", str(why))
    return report.summary()


class Report:
    """One line per file, printed as its outcome is known, and the summary."""

    def __init__(self, files: list[Path]) -> None:
        self.total = len(files)
        self.width = min(40, max(len(path.name) for path in files))
        self.statuses: dict[Path, str] = {}
        self.started = time.monotonic()
        self._lock = threading.Lock()

    def has(self, path: Path) -> bool:
        return path in self.statuses

    def record(self, path: Path, record: dict[str, Any]) -> None:
        status = str(record.get("status", "UNKNOWN"))
        what = "/".join(str(record[name]) for name in ("kind", "format") if record.get(name))
        detail = summarize_result(record) if status in TERMINAL else ""
        if status == "FAILED":
            detail = str(record.get("error", "")) or detail
        self.line(path, status, what, detail)

    def line(self, path: Path, status: str, what: str, detail: str) -> None:
        with self._lock:
            self.statuses[path] = status
            name = path.name if len(path.name) <= self.width else path.name[: self.width - 1] + "…"
            text = f"{name.ljust(self.width)}  {status.ljust(12)}  {what.ljust(16)}  {detail}"
            print(" ".join(text.split("\n")).rstrip(), flush=True)

    def summary(self) -> int:
        counts = Counter(self.statuses.values())
        seconds = time.monotonic() - self.started
        parts = ", ".join(f"{count} {status}" for status, count in sorted(counts.items()))
        print(f"\n{self.total} file(s) in {seconds:.1f} s: {parts}")
        good = counts.get("PROCESSED", 0) + counts.get("UPLOADED", 0)
        return 0 if good == self.total else 1
