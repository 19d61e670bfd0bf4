"""`mediaflow serve`: the local cloud with the device API and the S3 endpoint on real sockets of
127.0.0.1, a device and an operator with their credentials, until Ctrl-C or SIGTERM.

Uploads through it are processed as in `mediaflow run` (the local cloud delivers the bucket's
events itself). While it runs, `<state>/serve.json` says where it is, for `mediaflow devices`
and `mediaflow upload`; it goes when serve stops.
"""

from __future__ import annotations

import argparse
import errno
import os
import signal
import socket
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import Any

from mediaflow.cli.run import key_value_pairs
from mediaflow.devices.credentials import CredentialStore
from mediaflow.devices.state import SERVE_FILE, read_serve_state, state_dir, write_private
from mediaflow.devices.targets import LOCAL
from mediaflow.localcloud import LocalCloud
from mediaflow.localcloud.template import REGION
from mediaflow.localcloud.user_pool import Credentials, Tokens, device_id_problem

DEFAULT_PORT = 3000
DEFAULT_S3_PORT = 4566
OPERATOR = "operator-1"


class Stopped(BaseException):
    """SIGTERM (or SIGINT) asked serve to stop: a BaseException, like KeyboardInterrupt, so
    that nothing on the way catches it by accident."""


class PortInUse(ValueError):
    def __init__(self, port: int, option: str) -> None:
        super().__init__(
            f"port {port} on 127.0.0.1 is already in use; choose another with {option} PORT "
            "(0 picks a free one)"
        )


def add_commands(commands: Any) -> None:
    serve = commands.add_parser(
        "serve", help="run the local cloud with the device API on 127.0.0.1 until Ctrl-C"
    )
    serve.add_argument(
        "--port",
        type=int,
        default=DEFAULT_PORT,
        help="port of the device API (default: %(default)s; 0: a free one)",
    )
    serve.add_argument(
        "--s3-port",
        type=int,
        default=DEFAULT_S3_PORT,
        help="port of the S3 endpoint (default: %(default)s; 0: a free one)",
    )
    serve.add_argument(
        "--device", default="device-1", help="the device to add (default: %(default)s)"
    )
    serve.add_argument(
        "--parameter",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="override a template parameter, e.g. MultipartThresholdBytes=5242880 (repeatable)",
    )
    serve.set_defaults(command=serve_command)


# Copy-paste lines for a terminal (bash with curl and jq): list, upload a photo, read its record.
_TRY_IT = r"""
export API=<API> FILE=<FILE>
curl -sS -w '\n' -H "Authorization: Bearer $TOKEN" "$API/media"
BODY=$(jq -n --argjson size "$(stat -c %s "$FILE")" \
  --arg sha256 "$(sha256sum "$FILE" | cut -d ' ' -f 1)" \
  '{contentType: "image/jpeg", $size, $sha256}')
UPLOAD=$(curl -sS -X POST "$API/uploads" -H "Authorization: Bearer $TOKEN" -d "$BODY" \
  -H 'Content-Type: application/json')
mapfile -t FORM < <(echo "$UPLOAD" \
  | jq -r '.upload.fields | to_entries[] | "--form-string", "\(.key)=\(.value)"')
curl -sS -w '%{http_code}\n' "${FORM[@]}" -F "file=@$FILE" "$(echo "$UPLOAD" | jq -r .upload.url)"
curl -sS -H "Authorization: Bearer $TOKEN" "$API/media/$(echo "$UPLOAD" | jq -r .mediaId)" \
  | jq .status
"""


def serve_command(args: argparse.Namespace) -> int:
    project: Path = args.project
    state = state_dir(project)
    running = read_serve_state(project)
    if running is not None:
        raise ValueError(
            f"a `mediaflow serve` already runs for this project (pid {running['pid']}, "
            f"{state / SERVE_FILE}); stop it first, or give another MEDIAFLOW_STATE_DIR"
        )
    problem = device_id_problem(args.device)
    if problem or args.device == OPERATOR:
        raise ValueError(f"--device: {problem or f'{OPERATOR} is the operator serve adds'}")
    for port, option in ((args.port, "--port"), (args.s3_port, "--s3-port")):
        _check_free(port, option)
    if args.port and args.port == args.s3_port:
        raise ValueError(f"--port and --s3-port are both {args.port}; give two different ports")
    overrides = key_value_pairs(args.parameter)
    try:
        with _stopped_by_signals():
            _serve(args, project, state, overrides)
    except (Stopped, KeyboardInterrupt):
        pass
    print("mediaflow: stopped", file=sys.stderr)
    return 0


def _serve(args: argparse.Namespace, project: Path, state: Path, overrides: dict[str, str]) -> None:
    state.mkdir(mode=0o700, parents=True, exist_ok=True)
    store = CredentialStore.of(project, LOCAL)
    # A new local pool each start: credentials of an earlier one would only fail to sign in.
    store.clear()
    serve_file = state / SERVE_FILE
    try:
        with (
            _port_in_use_as(args.s3_port, "--s3-port"),
            LocalCloud(
                project,
                s3_port=args.s3_port,
                parameter_overrides=overrides,
                function_log=state / "functions.log",
            ) as cloud,
        ):
            with _port_in_use_as(args.port, "--port"):
                api_url = cloud.serve_api(args.port)
            principals = [
                cloud.user_pool.add_device(args.device),
                cloud.user_pool.add_operator(OPERATOR),
            ]
            tokens = {}
            for credentials in principals:
                store.save(credentials)
                tokens[credentials.username] = cloud.user_pool.sign_in(
                    credentials.username, credentials.password
                )
            # Every Output a deployed stack has, so that what reads a stack's Outputs (the
            # integration suite, scripts) reads serve.json the same way.
            outputs = {
                str(name): str(cloud.stack.output(name))
                for name in cloud.stack.template.get("Outputs", {})
            }
            outputs.update(
                {
                    "DeviceApiUrl": api_url,
                    "DeviceUserPoolId": cloud.user_pool.user_pool_id,
                    "DeviceUserPoolClientId": cloud.user_pool.client_id,
                    "MediaBucketName": cloud.bucket,
                    "S3EndpointUrl": cloud.s3_endpoint_url,
                }
            )
            try:
                write_private(
                    serve_file,
                    {
                        "pid": os.getpid(),
                        "region": REGION,
                        "emulatorUrl": cloud.endpoint_url,
                        "outputs": outputs,
                    },
                )
                print(_banner(project, state, cloud.endpoint_url, outputs, principals, tokens))
                sys.stdout.flush()
                while True:
                    signal.pause()
            finally:
                # Gone before the local cloud stops: `devices` never reaches a stopping serve.
                serve_file.unlink(missing_ok=True)
    finally:
        store.clear()


@contextmanager
def _stopped_by_signals() -> Iterator[None]:
    def stop(signum: int, frame: FrameType | None) -> None:
        # Asked once is enough: a second Ctrl-C must not cut the shutdown short and leave
        # processes of the local cloud behind.
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, signal.SIG_IGN)
        raise Stopped(signal.Signals(signum).name)

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _check_free(port: int, option: str) -> None:
    """Refuse a taken port at once, before the local cloud spends seconds starting."""
    if port == 0:
        return
    if not 0 < port < 65536:
        raise ValueError(f"{option} {port} is not a port (1 to 65535, or 0 for a free one)")
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        # As the servers bind: a port some closed connection still holds is free for them.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError as error:
            if error.errno == errno.EADDRINUSE:
                raise PortInUse(port, option) from None
            raise ValueError(f"{option} {port}: {error.strerror}") from None


@contextmanager
def _port_in_use_as(port: int, option: str) -> Iterator[None]:
    """The port was taken between the check and the bind: say which option to change."""
    try:
        yield
    except OSError as error:
        if error.errno == errno.EADDRINUSE:
            raise PortInUse(port, option) from None
        raise


def _banner(
    project: Path,
    state: Path,
    emulator_url: str,
    outputs: dict[str, str],
    principals: list[Credentials],
    tokens: dict[str, Tokens],
) -> str:
    api, s3 = outputs["DeviceApiUrl"], outputs["S3EndpointUrl"]
    device = principals[0].username
    lines = [
        f"Mediaflow local cloud from {project / 'template.yaml'}",
        "",
        f"  Device API      {api}",
        f"  S3 endpoint     {s3}",
        f"  Cognito         {emulator_url}  (InitiateAuth USER_PASSWORD_AUTH, region {REGION})",
        f"  User pool id    {outputs['DeviceUserPoolId']}",
        f"  App client id   {outputs['DeviceUserPoolClientId']}",
        f"  Function logs   {state / 'functions.log'}",
        "",
        f"Principals (credentials saved in {state / 'devices' / LOCAL}, mode 0600). Their access "
        "tokens are valid for 60 minutes; `mediaflow devices token NAME` gives a fresh one:",
    ]
    for credentials in principals:
        lines += [
            "",
            f"  {credentials.username} (group {credentials.group})",
            f"    password  {credentials.password}",
            f"    export TOKEN={tokens[credentials.username].access_token}",
        ]
    lines += [
        "",
        f"Try it, with {device}'s TOKEN exported (see README.md, Devices, for the whole flow):",
        "",
        *(
            "  " + line.replace("<API>", api).replace("<FILE>", str(project / "samples/photo.jpg"))
            for line in _TRY_IT.strip().splitlines()
        ),
        "",
        "Stop with Ctrl-C.",
    ]
    return "\n".join(lines)
