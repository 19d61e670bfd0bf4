"""The device HTTP API: `ApiFunction` in template.yaml, behind `DeviceApi` (API Gateway HTTP API
with a Cognito JWT authorizer).

The package, by job:
- app.py        the handler: builds the clients once, refuses unknown callers and bad bodies
- routes.py     the routes on Powertools' resolver: parse, call one logic function, return
- settings.py   the environment, read once
- backends.py   the clients, settings, signing key and clock the logic acts on
- errors.py     the API's errors, each with its stable code and HTTP status
- error_responses.py  every error in the one error shape, and the errors each route documents
- json_bodies.py      request bodies: size limit, and JSON that fails only as a 400
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
