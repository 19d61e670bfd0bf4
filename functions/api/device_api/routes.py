"""The routes of the device API on one Powertools `APIGatewayHttpResolver` with validation: each
parses its input into a model, calls one logic function and returns its dict.

The resolver and its routes import without AWS (the OpenAPI document is generated from them);
app.py, the handler, gives them the clients and settings at init through `configure`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.event_handler.openapi.params import Body, Header, Path, Query
from aws_lambda_powertools.utilities.idempotency import (
    BasePersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)

from device_api import deletion, listing, multipart, records
from device_api.backends import Backends
from device_api.error_responses import install_error_handlers, route_responses
from device_api.identity import Caller, caller_from_claims
from device_api.json_bodies import parse_json
from device_api.models import (
    MEDIA_ID,
    CreateUpload,
    ListQuery,
    MediaList,
    MediaRecord,
    PartsRequest,
    PartUrls,
    UploadCompleted,
    UploadCreated,
    UploadProgress,
)
from device_api.uploads import create_upload

IDEMPOTENCY_KEY = r"^[\x21-\x7e]{1,255}$"
"""1 to 255 visible ASCII characters: what fits a header and a DynamoDB key as it is."""

app = APIGatewayHttpResolver(enable_validation=True, json_body_deserializer=parse_json)
install_error_handlers(app)

MediaId = Annotated[str, Path(pattern=MEDIA_ID, description="The media's id (64 hex digits).")]


class _Runtime:
    """What the routes act on, given once by `configure`."""

    backends: Backends
    create_upload_once: Callable[..., dict[str, Any]]


_runtime = _Runtime()


def configure(
    backends: Backends, persistence: BasePersistenceLayer, idempotency: IdempotencyConfig
) -> None:
    """Gives the routes their AWS clients and settings, and the idempotency store that makes a
    retried POST /uploads with the same Idempotency-Key return the same upload."""
    _runtime.backends = backends

    @idempotent_function(
        data_keyword_argument="attempt", persistence_store=persistence, config=idempotency
    )
    def create_upload_once(attempt: dict[str, Any]) -> dict[str, Any]:
        request = CreateUpload.model_validate(attempt["request"])
        return create_upload(backends, attempt["deviceId"], request)

    _runtime.create_upload_once = create_upload_once


def idempotency_config(expiry_seconds: int) -> IdempotencyConfig:
    """Keyed on the device and its Idempotency-Key; the same key with another body is refused
    (payload validation) rather than answered with an upload of something else."""
    return IdempotencyConfig(
        event_key_jmespath="[deviceId, idempotencyKey]",
        payload_validation_jmespath="request",
        raise_on_no_idempotency_key=True,
        expires_after_seconds=expiry_seconds,
    )


def caller() -> Caller:
    return caller_from_claims(app.current_event.request_context.authorizer.jwt_claim)


@app.post(
    "/uploads",
    status_code=201,
    summary="Start an upload",
    responses=route_responses(201, UploadCreated, "The upload: a presigned POST or multipart"),
)
def post_upload(
    request: Annotated[CreateUpload, Body()],
    idempotency_key: Annotated[
        str | None,
        Header(
            alias="idempotency-key",
            pattern=IDEMPOTENCY_KEY,
            description="A retried request with the same key returns the same upload.",
        ),
    ] = None,
) -> dict[str, Any]:
    device_id = caller().require_device()
    if idempotency_key is None:
        return create_upload(_runtime.backends, device_id, request)
    attempt = {
        "deviceId": device_id,
        "idempotencyKey": idempotency_key,
        "request": request.model_dump(),
    }
    return _runtime.create_upload_once(attempt=attempt)


@app.post(
    "/uploads/<mediaId>/parts",
    summary="Presigned URLs for parts of a multipart upload (ask again to resume)",
    responses=route_responses(200, PartUrls, "A URL for each part asked for"),
)
def post_parts(mediaId: MediaId, request: Annotated[PartsRequest, Body()]) -> dict[str, Any]:
    device_id = caller().require_device()
    return multipart.part_urls(_runtime.backends, device_id, mediaId, request)


@app.get(
    "/uploads/<mediaId>",
    summary="An upload's status and the parts S3 holds",
    responses=route_responses(200, UploadProgress, "The upload's progress"),
)
def get_upload(mediaId: MediaId) -> dict[str, Any]:
    device_id = caller().require_device()
    return multipart.progress(_runtime.backends, device_id, mediaId)


@app.post(
    "/uploads/<mediaId>/complete",
    summary="Complete a multipart upload",
    responses=route_responses(200, UploadCompleted, "The upload is complete"),
)
def post_complete(mediaId: MediaId) -> dict[str, Any]:
    device_id = caller().require_device()
    return multipart.complete(_runtime.backends, device_id, mediaId)


@app.get(
    "/media/<mediaId>",
    summary="One media record",
    responses=route_responses(200, MediaRecord, "The record"),
)
def get_media(mediaId: MediaId) -> dict[str, Any]:
    backends = _runtime.backends
    return records.public(backends, records.visible(backends, caller(), mediaId))


@app.get(
    "/media",
    summary="The caller's media, newest first",
    responses=route_responses(200, MediaList, "A page of records"),
)
def get_media_list(query: Annotated[ListQuery, Query()]) -> dict[str, Any]:
    return listing.list_media(_runtime.backends, caller(), query)


@app.delete(
    "/media/<mediaId>",
    status_code=204,
    summary="Delete a media: its files and its record",
    responses=route_responses(204, None, "Deleted"),
)
def delete_media(mediaId: MediaId) -> Response[None]:
    device_id = caller().require_device()
    deletion.delete_media(_runtime.backends, device_id, mediaId)
    return Response(status_code=204, body=None)


@app.get(
    "/openapi.json",
    summary="This API's OpenAPI document (no authorization)",
    responses={
        200: {
            "description": "The OpenAPI 3 document",
            "content": {"application/json": {"schema": {"type": "object"}}},
        }
    },
)
def get_openapi() -> Response[str]:
    from device_api.openapi import document_text

    return Response(status_code=200, content_type="application/json", body=document_text(app))
