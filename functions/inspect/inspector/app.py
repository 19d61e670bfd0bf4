"""Inspect object: `InspectFunction` in template.yaml, the first task of the ingest workflow.

Input `{"event": <S3 "Object Created" EventBridge event>, "mediaId": str}`; output the
verdict described under "Inspect object" in docs/contracts.md. It reads the object's
metadata and first bytes only and decodes no media, so it stays light and starts fast.
"""

from __future__ import annotations

from typing import Any

import boto3
from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.data_classes import S3EventBridgeNotificationEvent
from aws_lambda_powertools.utilities.typing import LambdaContext

from inspector.errors import MalformedEvent
from inspector.inspection import InspectRequest, inspect_object
from inspector.settings import InspectSettings

logger = Logger()
# S3 is all the function calls; patching every library X-Ray knows would slow cold starts.
tracer = Tracer(patch_modules=["botocore"])
metrics = Metrics()
settings = InspectSettings.from_environment()
s3 = boto3.client("s3")

_EXPECTED_INPUT = 'input must be {"event": <S3 Object Created event>, "mediaId": str}'
VERDICT_METRICS = {
    "image": "ImagesAccepted",
    "audio": "AudioAccepted",
    "rejected": "ObjectsRejected",
}


@logger.inject_lambda_context(clear_state=True)  # no keys left over from the last invocation
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    # Counted before the work, so that inspections that raise show as the missing verdicts.
    metrics.add_metric(name="ObjectsInspected", unit=MetricUnit.Count, value=1)
    request = parse_request(event)
    logger.append_keys(media_id=request.media_id, bucket=request.bucket, key=request.key)
    verdict = inspect_object(s3, request, settings)
    metrics.add_metric(name=VERDICT_METRICS[verdict["kind"]], unit=MetricUnit.Count, value=1)
    logger.info(
        "Object inspected",
        extra={k: verdict[k] for k in ("kind", "format", "size", "deviceId", "reason")},
    )
    return verdict


def parse_request(payload: dict[str, Any]) -> InspectRequest:
    """The typed request, or `MalformedEvent` naming what is missing."""
    try:
        event = S3EventBridgeNotificationEvent(payload["event"])
        if event.detail_type != "Object Created":
            raise MalformedEvent(f"expected an 'Object Created' event, got {event.detail_type!r}")
        obj = event.detail.object
        return InspectRequest(
            bucket=event.detail.bucket.name,
            key=obj["key"],  # kept URL-encoded as sent; inspection resolves it against S3
            version_id=obj.get("version-id") or "",
            sequencer=obj.sequencer,
            uploaded_at=event.time,
            media_id=payload["mediaId"],
        )
    except KeyError as err:
        raise MalformedEvent(f"{_EXPECTED_INPUT}; missing {err}") from err
    except (TypeError, AttributeError) as err:
        raise MalformedEvent(f"{_EXPECTED_INPUT}; {err}") from err
