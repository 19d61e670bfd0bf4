"""The device HTTP API: `ApiFunction` in template.yaml, behind `DeviceApi` (API Gateway HTTP API
with a Cognito JWT authorizer).

The package, by job:
- app.py        the handler: routes, the error shape, the OpenAPI document's route
- settings.py   the environment, read once
- errors.py     the API's errors, each with its stable code and HTTP status
- models.py     request and response bodies (pydantic), which validation and OpenAPI read
- identity.py   who is calling, from the authorizer's verified claims only
- uploads.py    POST /uploads: the key, the UPLOADING record, the presigned POST or multipart
- multipart.py  part URLs, an upload's progress (ListParts), completing it
- records.py    the public shape of a record, and reading one the caller may see
- listing.py    GET /media: the device index, newest first, a page at a time
- cursors.py    the signed, expiring cursor of a listing
- deletion.py   DELETE /media/{mediaId}
- object_names.py  the keys the API chooses (ULIDs)
- openapi.py    the OpenAPI document generated from the routes
"""
