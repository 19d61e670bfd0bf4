"""ApiFunction (the device API) beside its anchors: its cold import, and its handler's own
time per route, warm.

    .venv/bin/python bench/api_function.py [--rounds 15] [--calls 30]

Cold import, as bench/coldstart.py measures the other handlers: each side is a fresh
interpreter, the anchor `import boto3; boto3.client("s3")`, ApiFunction `import
device_api.app` in its code folder with its layer on the path and the template's environment
(tracer on). Importing app.py also runs its init, which must make no AWS call (the cursor
signing key is read at the first listing that needs it): the AWS endpoints are a moto server
holding the template's secret, and any call made during the import is named and timed apart.
Every round runs both sides; the ratio is the median of the per-round ratios (target: at most
1.3x). A third side, the floor, imports only what the contract imposes on any such handler
(Powertools' Logger and Tracer with the X-Ray SDK, the HTTP resolver's validation, pydantic),
in ApiFunction's environment: what no change to device_api can go below.

Warm routes: `lambda_handler` called in this process with the payload-2.0 events API Gateway
sends (tests/unit/test_api_routes.py's builder), against moto (mock_aws). The anchor is one
bare DynamoDB GetItem on the same moto, so that a route's ratio says how many GetItems of
this machine's emulator it costs. Every round times each route once and the anchor once.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import boto3  # noqa: E402
from coldstart import clean_environment  # noqa: E402
from moto import mock_aws  # noqa: E402
from moto.server import ThreadedMotoServer  # noqa: E402

from mediaflow.localcloud.sandbox import lambda_environment  # noqa: E402
from mediaflow.localcloud.template import FunctionSpec, Stack  # noqa: E402

TARGET = 1.3
ANCHOR = "import boto3 + one client (anchor)"
API = "ApiFunction: import device_api.app"
ANCHOR_STATEMENT = "import boto3; boto3.client('s3')"
FLOOR = "floor: anchor + Powertools Logger, Tracer (X-Ray), HTTP resolver, pydantic"
# What the contract makes every cold start of the API import, before any code of its own: the
# tracer patching botocore, the resolver with validation (its OpenAPI params) and pydantic.
FLOOR_STATEMENT = (
    ANCHOR_STATEMENT + "; from aws_lambda_powertools import Logger, Tracer; Logger();"
    " Tracer(patch_modules=['botocore']);"
    " from aws_lambda_powertools.event_handler import APIGatewayHttpResolver;"
    " import aws_lambda_powertools.event_handler.openapi.params; from pydantic import BaseModel"
)
# Built only for the OpenAPI document: a cold start of any other route must not pay for it.
NOT_AT_IMPORT = ("aws_lambda_powertools.event_handler.openapi.models",)
MIB = 1024 * 1024
SIGNING_KEY = "k" * 32

# The probe times the statement; botocore's API calls made meanwhile (there should be none) are
# named and timed too, by wrapping the method every client call goes through.
_PROBE = """
import json, sys, time
started = time.perf_counter()
import botocore.client
_calls = []
_make_api_call = botocore.client.BaseClient._make_api_call
def _timed(self, operation, params):
    begun = time.perf_counter()
    try:
        return _make_api_call(self, operation, params)
    finally:
        _calls.append((operation, time.perf_counter() - begun))
botocore.client.BaseClient._make_api_call = _timed
{statement}
elapsed = time.perf_counter() - started
print(json.dumps({{
    "ms": elapsed * 1000,
    "calls": sorted({{name for name, _ in _calls}}),
    "calls_ms": sum(seconds for _, seconds in _calls) * 1000,
    "loaded": [m for m in {watched!r} if m in sys.modules],
}}))
"""


def api_spec() -> FunctionSpec:
    return next(spec for spec in Stack(ROOT).functions() if spec.logical_id == "ApiFunction")


def measure(statement: str, cwd: Path, env: dict[str, str]) -> dict[str, Any]:
    code = _PROBE.format(statement=statement, watched=NOT_AT_IMPORT)
    output = subprocess.run(
        [sys.executable, "-c", code], cwd=cwd, env=env, capture_output=True, text=True, check=True
    ).stdout
    return dict(json.loads(output.strip().splitlines()[-1]))


@contextmanager
def moto_server() -> Iterator[str]:
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no line per request
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        yield f"http://{host}:{port}"
    finally:
        server.stop()


def cold_import(rounds: int) -> None:
    spec = api_spec()
    base_env = clean_environment()
    with moto_server() as endpoint:
        boto3.client(
            "secretsmanager",
            endpoint_url=endpoint,
            region_name="us-east-1",
            aws_access_key_id="local",
            aws_secret_access_key="local",
        ).create_secret(Name=spec.environment["SIGNING_KEY_SECRET_ARN"], SecretString=SIGNING_KEY)
        api_env = {
            **base_env,
            **lambda_environment(spec, endpoint),
            "PYTHONPATH": os.pathsep.join(str(folder) for folder in spec.python_path),
        }
        api_env.pop("POWERTOOLS_TRACE_DISABLED", None)  # as deployed: the tracer is on
        sides = {
            ANCHOR: (ANCHOR_STATEMENT, ROOT, base_env),
            FLOOR: (FLOOR_STATEMENT, spec.code_dir, api_env),
            API: ("import device_api.app", spec.code_dir, api_env),
        }
        samples: dict[str, list[dict[str, Any]]] = {name: [] for name in sides}
        for _ in range(rounds):
            for name, (statement, cwd, env) in sides.items():
                samples[name].append(measure(statement, cwd, env))

    anchor = [float(sample["ms"]) for sample in samples[ANCHOR]]
    api = [float(sample["ms"]) for sample in samples[API]]
    network = [float(sample["calls_ms"]) for sample in samples[API]]
    without_network = [total - call for total, call in zip(api, network, strict=True)]
    loaded = sorted({module for sample in samples[API] for module in sample["loaded"]})
    calls = sorted({name for sample in samples[API] for name in sample["calls"]})
    ratio = statistics.median(value / base for value, base in zip(api, anchor, strict=True))
    ratio_without = statistics.median(
        value / base for value, base in zip(without_network, anchor, strict=True)
    )
    verdict = "✅" if ratio <= TARGET and not loaded and not calls else "❌"
    print(
        f"Cold import, medians of {rounds} rounds of fresh interpreters, one per side in each"
        f" round; x anchor is the median of each round's ratio (Python {sys.version.split()[0]})\n"
    )
    print("| side | median ms | x anchor | target |")
    print("|---|---|---|---|")
    print(f"| {ANCHOR} | {statistics.median(anchor):.0f} | 1.00x | anchor |")
    floor = [float(sample["ms"]) for sample in samples[FLOOR]]
    floor_ratio = statistics.median(value / base for value, base in zip(floor, anchor, strict=True))
    print(f"| {FLOOR} | {statistics.median(floor):.0f} | {floor_ratio:.2f}x | |")
    note = f"≤{TARGET}x, no AWS call, OpenAPI models not built {verdict}"
    if loaded:
        note += f" (loaded {', '.join(loaded)})"
    print(f"| {API} (import + init) | {statistics.median(api):.0f} | {ratio:.2f}x | {note} |")
    if calls:
        print(
            f"| of which AWS calls at init ({', '.join(calls)}; local moto server)"
            f" | {statistics.median(network):.0f} | | |"
        )
        print(
            f"| {API}, without those calls | {statistics.median(without_network):.0f}"
            f" | {ratio_without:.2f}x | |"
        )
    print()


# --- warm routes ---------------------------------------------------------------------------


class Routes:
    """ApiFunction's handler in this process against moto, with what each route acts on."""

    def __init__(self) -> None:
        # tests.conftest puts every function's Lambda path on sys.path, as Lambda lays it out.
        from tests.conftest import FakeLambdaContext, handler_module
        from tests.unit.test_api_routes import http_event

        spec = api_spec()
        self.settings = spec.environment
        for name in [name for name in os.environ if name.startswith("AWS_ENDPOINT_URL")]:
            del os.environ[name]  # every call goes to mock_aws
        os.environ |= {"AWS_DEFAULT_REGION": "us-east-1", "AWS_REGION": "us-east-1"}
        self.s3 = boto3.client("s3")
        self.dynamodb = boto3.client("dynamodb")
        self._provision(spec)
        self.module = handler_module("ApiFunction")
        self._event = http_event
        self._context = FakeLambdaContext()

    def _provision(self, spec: FunctionSpec) -> None:
        stack = Stack(ROOT)
        bucket = self.settings["MEDIA_BUCKET_NAME"]
        self.s3.create_bucket(Bucket=bucket)
        self.s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
        for logical_id, name in (
            ("MediaTable", "MEDIA_TABLE_NAME"),
            ("IdempotencyTable", "IDEMPOTENCY_TABLE_NAME"),
        ):
            props: dict[str, Any] = stack.resolve(stack.resources[logical_id]["Properties"])
            table: dict[str, Any] = {
                "TableName": self.settings[name],
                "BillingMode": "PAY_PER_REQUEST",
                "AttributeDefinitions": props["AttributeDefinitions"],
                "KeySchema": props["KeySchema"],
            }
            if props.get("GlobalSecondaryIndexes"):
                table["GlobalSecondaryIndexes"] = [
                    {key: index[key] for key in ("IndexName", "KeySchema", "Projection")}
                    for index in props["GlobalSecondaryIndexes"]
                ]
            self.dynamodb.create_table(**table)
        secret = boto3.client("secretsmanager").create_secret(
            Name=self.settings["SIGNING_KEY_SECRET_ARN"], SecretString=SIGNING_KEY
        )
        environment = {
            **spec.environment,
            "SIGNING_KEY_SECRET_ARN": secret["ARN"],
            # The smallest threshold S3's 5 MiB part minimum allows: multipart uploads of
            # 5 MiB + 1 byte, two parts, keep the bench's moto small.
            "MULTIPART_THRESHOLD_BYTES": str(5 * MIB),
            "AWS_LAMBDA_FUNCTION_NAME": spec.name,
            # No X-Ray daemon here, as in the local cloud's sandboxes.
            "POWERTOOLS_TRACE_DISABLED": "true",
        }
        os.environ.update(environment)

    def call(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        event = self._event(method, path, body=body)
        result = self.module.lambda_handler(event, self._context)
        text = result.get("body")
        return result["statusCode"], json.loads(text) if text else None

    def expect(self, status: int, method: str, path: str, body: Any = None) -> Any:
        got, answer = self.call(method, path, body)
        if got != status:
            raise RuntimeError(f"{method} {path}: {got} {answer}")
        return answer

    def single(self) -> dict[str, Any]:
        return dict(self.expect(201, "POST", "/uploads", _upload_body(1000)))

    def multipart(self) -> dict[str, Any]:
        return dict(self.expect(201, "POST", "/uploads", _upload_body(5 * MIB + 1)))

    def upload_id(self, key: str) -> str:
        uploads = self.s3.list_multipart_uploads(
            Bucket=self.settings["MEDIA_BUCKET_NAME"], Prefix=key
        )
        return str(uploads["Uploads"][0]["UploadId"])

    def send_part(self, key: str, number: int, data: bytes) -> None:
        self.s3.upload_part(
            Bucket=self.settings["MEDIA_BUCKET_NAME"],
            Key=key,
            UploadId=self.upload_id(key),
            PartNumber=number,
            Body=data,
            ChecksumAlgorithm="SHA256",
        )

    def processed(self, media_id: str, uploaded_at: str) -> None:
        """A record as the workflow leaves it, with a thumbnail (a presigned URL to make)."""
        item: dict[str, Any] = {
            "mediaId": {"S": media_id},
            "deviceId": {"S": "cam-1"},
            "status": {"S": "PROCESSED"},
            "key": {"S": f"uploads/cam-1/{media_id[:26]}.jpg"},
            "kind": {"S": "image"},
            "format": {"S": "jpeg"},
            "contentType": {"S": "image/jpeg"},
            "size": {"N": "1234"},
            "uploadedAt": {"S": uploaded_at},
            "updatedAt": {"S": uploaded_at},
            "executionArn": {"S": "arn:aws:states:us-east-1:123456789012:execution:x:y"},
            "image": {
                "M": {
                    "width": {"N": "640"},
                    "height": {"N": "480"},
                    "thumbnailKey": {"S": f"thumbnails/{media_id}/v1/thumbnail.jpg"},
                    "labels": {"L": [{"M": {"name": {"S": "Cat"}, "confidence": {"N": "97.5"}}}]},
                }
            },
        }
        self.dynamodb.put_item(TableName=self.settings["MEDIA_TABLE_NAME"], Item=item)


def _upload_body(size: int) -> dict[str, Any]:
    return {"contentType": "image/jpeg", "size": size, "sha256": "ab" * 32}


def _timed(run: Callable[[], Any]) -> float:
    started = time.perf_counter()
    run()
    return (time.perf_counter() - started) * 1000


def warm_routes(calls: int) -> None:
    with mock_aws():
        routes = Routes()
        table = routes.settings["MEDIA_TABLE_NAME"]
        first = routes.single()  # warm-up: the first request builds what is built lazily
        anchor_key = {"mediaId": {"S": first["mediaId"]}}
        for day in range(50):
            routes.processed(
                hashlib.sha256(f"listed {day}".encode()).hexdigest(),
                f"2024-05-{day % 28 + 1:02d}T10:{day:02d}:00.000Z",
            )
        shown = hashlib.sha256(b"listed 0").hexdigest()
        routes.expect(200, "GET", "/openapi.json")  # the document is generated once, then kept

        # One open multipart upload with part 1 sent: what a resuming device asks about.
        resumed = routes.multipart()
        routes.send_part(resumed["key"], 1, b"\x01" * (5 * MIB))
        resumed_id = resumed["mediaId"]
        parts = {"parts": [{"partNumber": n, "sha256": "cd" * 32} for n in (1, 2)]}

        samples: dict[str, list[float]] = {}

        def record(name: str, run: Callable[[], Any]) -> None:
            samples.setdefault(name, []).append(_timed(run))

        for _ in range(calls):
            # Untimed: an upload with both parts sent, for complete and then DELETE.
            done = routes.multipart()
            routes.send_part(done["key"], 1, b"\x02" * (5 * MIB))
            routes.send_part(done["key"], 2, b"\x03")
            done_id = done["mediaId"]

            record(
                "anchor: one DynamoDB GetItem",
                lambda: routes.dynamodb.get_item(TableName=table, Key=anchor_key),
            )
            record("POST /uploads (presigned POST)", routes.single)
            record("POST /uploads (multipart)", routes.multipart)
            record(
                "POST /uploads/{id}/parts (2 parts)",
                lambda: routes.expect(200, "POST", f"/uploads/{resumed_id}/parts", parts),
            )
            record(
                "GET /uploads/{id} (ListParts)",
                lambda: routes.expect(200, "GET", f"/uploads/{resumed_id}"),
            )
            record(
                "POST /uploads/{id}/complete",
                partial(routes.expect, 200, "POST", f"/uploads/{done_id}/complete"),
            )
            record(
                "GET /media/{id} (thumbnail URL)",
                lambda: routes.expect(200, "GET", f"/media/{shown}"),
            )
            record("GET /media (page of 20)", lambda: routes.expect(200, "GET", "/media"))
            record(
                "DELETE /media/{id} (object, record)",
                partial(routes.expect, 204, "DELETE", f"/media/{done_id}"),
            )
            record("GET /openapi.json", lambda: routes.expect(200, "GET", "/openapi.json"))

    anchor_name = "anchor: one DynamoDB GetItem"
    anchor = samples.pop(anchor_name)
    print(
        f"Warm routes: lambda_handler in-process against moto (mock_aws), median of {calls}"
        " calls each, interleaved; x anchor is the median of each round's ratio\n"
    )
    print("| route | median ms | x anchor |")
    print("|---|---|---|")
    print(f"| {anchor_name} | {statistics.median(anchor):.2f} | 1.00x |")
    for name, values in samples.items():
        ratio = statistics.median(value / base for value, base in zip(values, anchor, strict=True))
        print(f"| {name} | {statistics.median(values):.2f} | {ratio:.1f}x |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=15, help="fresh-interpreter rounds")
    parser.add_argument("--calls", type=int, default=30, help="warm calls of each route")
    args = parser.parse_args()
    cold_import(args.rounds)
    warm_routes(args.calls)


if __name__ == "__main__":
    main()
