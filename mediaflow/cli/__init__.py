"""`mediaflow`: run Mediaflow on the embedded local cloud, with no AWS account and no Docker,
and operate a deployed stack.

mediaflow run PATH...                 upload files, let the workflow process them, report
mediaflow invoke FUNCTION --event F   run one function on one event (docker-free
                                      `sam local invoke`)
mediaflow executions                  the executions of the last run
mediaflow show EXECUTION              one execution's event history, as the console shows it
mediaflow redrive [--stack-name S]    replay the dead-letter queue of a deployed stack, and
                                      redrive failed executions Step Functions allows
mediaflow reconcile [--stack-name S]  process again every upload of a deployed stack that
                                      has no final record
mediaflow teardown --stack-name S     empty a dev stack's bucket, so that `sam delete` can
                                      delete the stack
mediaflow serve                       the local cloud with the device API and S3 on 127.0.0.1,
                                      a device and an operator, until Ctrl-C
mediaflow devices add|list|remove|token
                                      the devices and operators of `serve` or of a deployed
                                      stack (--stack-name S)
mediaflow upload FILE... --device NAME
                                      upload as a device through the device API (resumes
                                      large files), wait for the records
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from mediaflow.cli import devices, history, invoke, operate, run, serve, upload
from mediaflow.localcloud import LocalCloudError
from mediaflow.localcloud.template import TemplateError

ROOT = Path(__file__).resolve().parents[2]


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        code = int(args.command(args))
        # Flushed here, so that a reader gone early (`mediaflow show X | head`) is met below.
        sys.stdout.flush()
        return code
    except BrokenPipeError:
        return _reader_gone()
    except (ValueError, FileNotFoundError, LookupError, TemplateError, LocalCloudError) as error:
        print(f"mediaflow: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        # The local cloud and its processes are stopped by now (LocalCloud.__exit__).
        print("mediaflow: interrupted", file=sys.stderr)
        return 130


def _reader_gone() -> int:
    """The recipe of https://docs.python.org/3/library/signal.html#note-on-sigpipe: what is
    left to print goes to /dev/null (not a second BrokenPipeError when Python flushes at
    exit), and the exit code is a shell's for a command SIGPIPE ended (128 + 13)."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    return 141


def parser() -> argparse.ArgumentParser:
    commands_parser = argparse.ArgumentParser(
        prog="mediaflow", description=__doc__.split("\n\n")[0]
    )
    commands_parser.add_argument(
        "--project",
        type=Path,
        default=ROOT,
        help="folder with template.yaml (default: %(default)s)",
    )
    commands = commands_parser.add_subparsers(required=True, metavar="COMMAND")
    for module in (run, invoke, history, operate, serve, devices, upload):
        module.add_commands(commands)
    return commands_parser
