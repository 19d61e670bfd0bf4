"""`mediaflow devices`: add, list and remove the principals of a stack's user pool (devices, and
operators with --operator), and sign one in for a fresh access token; against the running
`mediaflow serve` by default, or a deployed stack with --stack-name.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from mediaflow.cli.tables import table
from mediaflow.devices.credentials import CredentialStore
from mediaflow.devices.targets import LOCAL, Target
from mediaflow.localcloud.user_pool import PrincipalError, device_id_problem


def add_commands(commands: Any) -> None:
    devices = commands.add_parser(
        "devices", help="add, list and remove devices and operators; sign one in"
    )
    actions = devices.add_subparsers(required=True, metavar="ACTION")

    target = argparse.ArgumentParser(add_help=False)
    target.add_argument(
        "--stack-name", help="a deployed stack (default: the running `mediaflow serve`)"
    )
    target.add_argument("--region", help="its AWS Region (default: the profile's or environment's)")
    target.add_argument("--profile", help="AWS named profile (default: the environment's)")

    add = actions.add_parser(
        "add", parents=[target], help="add a device (or an operator) and print its credentials"
    )
    add.add_argument("name", metavar="NAME", help="the device id (its user name)")
    add.add_argument("--operator", action="store_true", help="add an operator, not a device")
    add.set_defaults(command=lambda args: _on_target(args, _add))

    listing = actions.add_parser("list", parents=[target], help="the pool's devices and operators")
    listing.set_defaults(command=lambda args: _on_target(args, _list))

    remove = actions.add_parser(
        "remove", parents=[target], help="delete a device or operator and its saved credentials"
    )
    remove.add_argument("name", metavar="NAME")
    remove.set_defaults(command=lambda args: _on_target(args, _remove))

    token = actions.add_parser(
        "token",
        parents=[target],
        help="sign in with the saved credentials and print a fresh access token",
    )
    token.add_argument("name", metavar="NAME")
    token.set_defaults(command=lambda args: _on_target(args, _token))


def _on_target(args: argparse.Namespace, action: Any) -> int:
    name = getattr(args, "name", None)
    if name is not None and (problem := device_id_problem(name)):
        print(f"mediaflow: {problem}", file=sys.stderr)
        return 2
    if args.stack_name:
        target = Target.deployed(args.stack_name, args.region, args.profile)
    else:
        target = Target.local(args.project)
    store = CredentialStore.of(args.project, target.name)
    try:
        return int(action(target, store, args))
    except PrincipalError as error:
        print(f"mediaflow: {error}", file=sys.stderr)
        return 2
    except (BotoCoreError, ClientError) as error:
        # A serve that stopped since serve.json was read, or AWS refusing the caller.
        print(f"mediaflow: {target.name}: {error}", file=sys.stderr)
        return 2


def _pool_of(target: Target) -> str:
    return "the local user pool" if target.name == LOCAL else f"stack {target.name}'s user pool"


def _add(target: Target, store: CredentialStore, args: argparse.Namespace) -> int:
    pool = target.user_pool()
    credentials = pool.add_operator(args.name) if args.operator else pool.add_device(args.name)
    path = store.save(credentials)
    rows = [
        ("API URL", target.api_url),
        ("region", target.region),
        ("user pool id", pool.user_pool_id),
        ("user pool client id", pool.client_id),
    ]
    if target.endpoint_url:
        rows.append(("Cognito endpoint", target.endpoint_url))
    rows += [
        ("username", credentials.username),
        ("password", credentials.password),
        ("group", credentials.group),
    ]
    width = max(len(label) for label, _ in rows)
    print(f"Added {credentials.username} to {_pool_of(target)}. What it needs:\n")
    print("\n".join(f"  {label.ljust(width)}  {value}" for label, value in rows))
    print(
        f"\nThe password is shown only here; it is saved in {path} (mode 0600) for "
        f"`mediaflow devices token {credentials.username}` and `mediaflow upload`."
    )
    return 0


def _list(target: Target, store: CredentialStore, args: argparse.Namespace) -> int:
    saved = set(store.names())
    rows = [
        (
            principal.username,
            ", ".join(principal.groups) or "(none)",
            principal.status + ("" if principal.enabled else ", disabled"),
            "yes" if principal.username in saved else "no",
        )
        for principal in target.user_pool().principals()
    ]
    if not rows:
        print(f"{_pool_of(target)} has no devices or operators.")
        return 0
    print(table(["name", "groups", "status", "credentials saved"], rows))
    return 0


def _remove(target: Target, store: CredentialStore, args: argparse.Namespace) -> int:
    target.user_pool().remove(args.name)
    store.delete(args.name)
    print(
        f"Removed {args.name} from {_pool_of(target)}. Access tokens it already has "
        "stay valid until they expire (at most 60 minutes)."
    )
    return 0


def _token(target: Target, store: CredentialStore, args: argparse.Namespace) -> int:
    credentials = store.load(args.name)
    print(target.sign_in(credentials.username, credentials.password).access_token)
    return 0
