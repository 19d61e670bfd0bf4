"""GET /media: a device's media, newest first, from the table's DeviceIndex, a page at a time.

The filters (`status`, `kind`) are applied by DynamoDB after it reads, so a page may take more
than one Query; a request reads at most `MAX_QUERIES` of them and then answers what it has,
with a cursor, so that a filter matching nothing in a long history still answers quickly.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from device_api import cursors
from device_api.backends import Backends
from device_api.errors import Forbidden
from device_api.identity import Caller
from device_api.models import ListQuery
from device_api.records import plain, public

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.type_defs import AttributeValueTypeDef, QueryInputTypeDef

MAX_QUERIES = 5


def list_media(backends: Backends, caller: Caller, query: ListQuery) -> dict[str, Any]:
    """One page of the listing: `{items, cursor?}`."""
    if query.device is not None and not caller.is_operator:
        raise Forbidden("only operators may list another device's media", field="device")
    device = query.device if query.device is not None else caller.username
    scope = {
        "caller": caller.username,
        "device": device,
        "status": query.status,
        "kind": query.kind,
    }
    settings = backends.settings
    params: QueryInputTypeDef = {
        "TableName": settings.media_table,
        "IndexName": settings.device_index,
        "KeyConditionExpression": "deviceId = :device",
        "ExpressionAttributeValues": {":device": {"S": device}},
        "ScanIndexForward": False,
        "Limit": query.limit,
    }
    _add_filters(params, query, device)
    if query.cursor is not None:
        start = cursors.redeem(backends.signing_key(), query.cursor, scope, backends.now())
        params["ExclusiveStartKey"] = {name: {"S": value} for name, value in start.items()}
    items: list[dict[str, Any]] = []
    last_key: dict[str, Any] | None = None
    for _ in range(MAX_QUERIES):
        response = backends.dynamodb.query(**params)
        items.extend(plain(item) for item in response.get("Items", []))
        last_key = response.get("LastEvaluatedKey")
        if len(items) >= query.limit or last_key is None:
            break
        params["ExclusiveStartKey"] = last_key
    next_start: dict[str, str] | None = None
    if len(items) > query.limit:
        items = items[: query.limit]
        next_start = _index_key(items[-1])
    elif last_key is not None:
        next_start = {name: value["S"] for name, value in last_key.items()}
    answer: dict[str, Any] = {"items": [public(backends, item) for item in items]}
    if next_start is not None:
        answer["cursor"] = cursors.issue(backends.signing_key(), scope, next_start, backends.now())
    return answer


def _add_filters(params: QueryInputTypeDef, query: ListQuery, device: str) -> None:
    conditions = []
    names: dict[str, str] = {}
    values: dict[str, AttributeValueTypeDef] = {":device": {"S": device}}
    for name, value in (("status", query.status), ("kind", query.kind)):
        if value is not None:
            conditions.append(f"#{name} = :{name}")
            names[f"#{name}"] = name
            values[f":{name}"] = {"S": value}
    if conditions:
        params["FilterExpression"] = " AND ".join(conditions)
        params["ExpressionAttributeNames"] = names
        params["ExpressionAttributeValues"] = values


def _index_key(item: dict[str, Any]) -> dict[str, str]:
    """The ExclusiveStartKey that resumes after `item` in DeviceIndex: the index's keys and
    the table's."""
    return {name: item[name] for name in ("mediaId", "deviceId", "uploadedAt")}
