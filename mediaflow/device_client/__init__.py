"""The reference device client: what a phone or a field recorder does to put media into Mediaflow,
with no AWS credentials, only the device API (`mediaflow upload` drives it).

- errors.py: DeviceClientError (a sentence), ApiError (status, code), TransportError
- backoff.py: retries with exponential back-off and full jitter
- local_files.py: a file as a device declares it (size, SHA-256, content type), read in parts
- transport.py: HTTP over urllib3 (which botocore already brings), connection errors in a line
- api_client.py: the device API's routes with the device's access token, refreshed when needed
- form_upload.py: the presigned POST to S3, fields then the file streamed from disk
- upload_state.py: the uploads in flight, remembered on disk so that a new run resumes them
- uploader.py: one file uploaded: a single POST, or multipart with per-part checksums,
  retries with back-off, and resume of the parts S3 does not hold yet
- polling.py: waiting with back-off until each record is PROCESSED, REJECTED or FAILED
"""
