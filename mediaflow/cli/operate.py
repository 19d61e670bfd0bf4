"""`mediaflow redrive`, `reconcile` and `teardown`: the operator tools, run against a deployed
stack (mediaflow/operations), with the AWS Region and profile a person chooses."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from mediaflow.operations import teardown
from mediaflow.operations.reconcile import reconcile
from mediaflow.operations.redrive import redrive
from mediaflow.operations.stack import StackResources


def add_commands(commands: Any) -> None:
    redrive_command = commands.add_parser(
        "redrive", help="replay the dead-letter queue and redrive failed executions (AWS)"
    )
    _add_stack_arguments(redrive_command)
    redrive_command.set_defaults(command=lambda args: _operate(args, _redrive))

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
    reconcile_command.set_defaults(command=lambda args: _operate(args, _reconcile))

    teardown_command = commands.add_parser(
        "teardown", help="empty a dev stack's bucket so that `sam delete` can delete it (AWS)"
    )
    teardown.add_arguments(teardown_command)
    teardown_command.set_defaults(command=teardown.run)


def _add_stack_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--stack-name", default="mediaflow", help="deployed stack (default: %(default)s)"
    )
    parser.add_argument("--region", help="AWS Region (default: the profile's or environment's)")
    parser.add_argument("--profile", help="AWS named profile (default: the environment's)")
    parser.add_argument(
        "--prefix", help="only keys under this prefix (default: the stack's upload folder)"
    )
    parser.add_argument("--dry-run", action="store_true", help="say what would be done; do nothing")


Operation = Callable[[Any, StackResources, argparse.Namespace], int]


def _operate(args: argparse.Namespace, operation: Operation) -> int:
    """Run an operation on the deployed stack: its resources from the stack's Outputs."""
    import boto3

    try:
        session = boto3.Session(profile_name=args.profile, region_name=args.region)
        resources = StackResources.from_stack(session.client("cloudformation"), args.stack_name)
        print(
            f"Stack {args.stack_name} in {session.region_name}: bucket {resources.bucket}, "
            f"table {resources.table}"
        )
        return operation(session, resources, args)
    except (BotoCoreError, ClientError) as error:
        print(f"mediaflow: {error}", file=sys.stderr)
        return 2


def _redrive(session: Any, resources: StackResources, args: argparse.Namespace) -> int:
    report = redrive(
        session.client("sqs"),
        session.client("stepfunctions"),
        resources,
        prefix=args.prefix,
        dry_run=args.dry_run,
    )
    print(report.summary())
    # Messages left in the queue need a person: say so to scripts too.
    return 1 if report.left_in_queue else 0


def _reconcile(session: Any, resources: StackResources, args: argparse.Namespace) -> int:
    report = reconcile(
        session.client("s3"),
        session.client("dynamodb"),
        session.client("stepfunctions"),
        resources,
        prefix=args.prefix,
        dry_run=args.dry_run,
        min_age=timedelta(seconds=args.min_age),
    )
    print(report.summary())
    return 0
