"""The thumbnail function's handler against S3 in moto, and its settings (functions/thumbnail)."""

from __future__ import annotations

import io
from types import ModuleType
from typing import TYPE_CHECKING, Any

import boto3
import pytest
from moto import mock_aws
from PIL import Image
from thumbnailer.settings import ThumbnailSettings

from mediaflow.corpora import images
from tests.conftest import (
    ROOT,
    FakeLambdaContext,
    handler_module,
    lambda_pythonpath,
    load_event,
    run_python,
)
from tests.unit.conftest import MEDIA_BUCKET

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_s3.type_defs import GetObjectOutputTypeDef

FUNCTION_DIR = ROOT / "functions" / "thumbnail"
BUCKET = MEDIA_BUCKET


def load_handler_module(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    """The handler module, imported afresh. Importing it sets Pillow's pixel limit, which is
    put back after the test."""
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", Image.MAX_IMAGE_PIXELS)
    return handler_module("ThumbnailFunction")


@pytest.fixture
def app(s3: S3Client, monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    # Loaded inside moto and after conftest has set the environment, as Lambda would.
    return load_handler_module(monkeypatch)


def upload(s3: S3Client, body: bytes) -> dict[str, Any]:
    """The sample event, pointing at a version of the sample key that holds `body`."""
    event = load_event("thumbnail.json")
    response = s3.put_object(Bucket=BUCKET, Key=event["key"], Body=body)
    return {**event, "versionId": response["VersionId"]}


def read_jpeg(s3: S3Client, key: str) -> tuple[Image.Image, GetObjectOutputTypeDef]:
    response = s3.get_object(Bucket=BUCKET, Key=key)
    image = Image.open(io.BytesIO(response["Body"].read()))
    assert image.format == "JPEG"
    return image, response


def test_thumbnail_is_written_and_described(
    app: ModuleType, s3: S3Client, lambda_context: FakeLambdaContext
) -> None:
    # Given a portrait photo from a phone, stored sideways with EXIF orientation 6
    event = upload(s3, images.photo_jpeg(1200, 1600, orientation=6))

    # When
    result = app.lambda_handler(event, lambda_context)

    # Then
    key = f"{event['outputPrefix']}thumbnail.jpg"
    assert result == {
        "thumbnailKey": key,
        "width": 1200,
        "height": 1600,
        "orientation": 6,
        "thumbnailWidth": 225,
        "thumbnailHeight": 300,
        "labels": [],  # the event carried none
    }
    thumbnail, response = read_jpeg(s3, key)
    assert thumbnail.size == (225, 300)
    assert response["ContentType"] == "image/jpeg"
    assert "immutable" in response["CacheControl"]
    assert key.startswith("thumbnails/")


def test_the_labels_it_is_given_come_back_as_the_record_s_list(
    app: ModuleType, s3: S3Client, lambda_context: FakeLambdaContext
) -> None:
    # Given the workflow's Detect labels found two labels (DetectLabels' shape, trimmed)
    labels = [
        {"Name": "Dog", "Confidence": 98.125, "Instances": [], "Parents": []},
        {"Name": "Grass", "Confidence": 71, "Instances": [], "Parents": []},
    ]
    event = {**upload(s3, images.photo_jpeg(640, 480)), "labels": labels}

    result = app.lambda_handler(event, lambda_context)

    # Then they are the DynamoDB list Record image result writes, in Rekognition's order
    assert result["labels"] == [
        {"M": {"name": {"S": "Dog"}, "confidence": {"N": "98.125"}}},
        {"M": {"name": {"S": "Grass"}, "confidence": {"N": "71"}}},
    ]


@pytest.mark.parametrize(
    "labels", ["Dog", [{"Name": "Dog"}], [{"Name": 3, "Confidence": 90.0}], [["Dog", 90.0]]]
)
def test_labels_not_in_rekognition_s_shape_are_a_malformed_event(
    app: ModuleType, s3: S3Client, lambda_context: FakeLambdaContext, labels: Any
) -> None:
    event = {**upload(s3, images.photo_jpeg(640, 480)), "labels": labels}

    with pytest.raises(Exception, match="label") as raised:
        app.lambda_handler(event, lambda_context)

    assert type(raised.value).__name__ == "MalformedEvent"


def test_reads_the_version_it_is_given(
    app: ModuleType, s3: S3Client, lambda_context: FakeLambdaContext
) -> None:
    # Given a photo that has since been overwritten by a newer version of the same key
    event = upload(s3, images.photo_jpeg(640, 480))
    upload(s3, b"a newer version that is not an image")

    result = app.lambda_handler(event, lambda_context)

    assert (result["width"], result["height"]) == (640, 480)


def test_label_source_is_written_for_rekognition(
    app: ModuleType, s3: S3Client, lambda_context: FakeLambdaContext
) -> None:
    event = {**upload(s3, images.photo_heic(640, 480)), "purpose": "label-source"}

    result = app.lambda_handler(event, lambda_context)

    key = f"{event['outputPrefix']}label-source.jpg"
    assert result["bucket"] == BUCKET
    assert result["key"] == key
    written = s3.head_object(Bucket=BUCKET, Key=key)
    assert result["version"] == written["VersionId"]
    rendition, _ = read_jpeg(s3, key)
    assert rendition.size == (640, 480)


def test_unversioned_bucket(
    lambda_context: FakeLambdaContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    with mock_aws():
        s3 = boto3.client("s3")
        s3.create_bucket(Bucket=BUCKET)
        event = {**load_event("thumbnail.json"), "versionId": "", "purpose": "label-source"}
        s3.put_object(Bucket=BUCKET, Key=event["key"], Body=images.photo_webp(320, 240))

        result = load_handler_module(monkeypatch).lambda_handler(event, lambda_context)

        assert result["version"] == ""
        assert s3.head_object(Bucket=BUCKET, Key=result["key"])["ContentType"] == "image/jpeg"


@pytest.mark.filterwarnings("ignore:No application metrics to publish")
@pytest.mark.parametrize(
    "output_prefix",
    ["uploads/field-recorder-7/", "thumbnails-evil/x/", "thumbnails/no-slash", ""],
)
def test_never_writes_outside_the_output_prefix(
    app: ModuleType, s3: S3Client, lambda_context: FakeLambdaContext, output_prefix: str
) -> None:
    event = {**upload(s3, images.photo_jpeg(640, 480)), "outputPrefix": output_prefix}

    with pytest.raises(ValueError, match="outputPrefix"):
        app.lambda_handler(event, lambda_context)

    keys = [item["Key"] for item in s3.list_objects_v2(Bucket=BUCKET).get("Contents", [])]
    assert keys == [event["key"]]


def test_media_errors_reach_the_state_machine_by_name(
    app: ModuleType, s3: S3Client, lambda_context: FakeLambdaContext
) -> None:
    event = upload(s3, b"this is not an image" * 10)

    with pytest.raises(Exception) as raised:
        app.lambda_handler(event, lambda_context)

    assert type(raised.value).__name__ == "UnsupportedMediaType"


def test_sample_event_is_a_valid_request(app: ModuleType) -> None:
    request = app.ThumbnailRequest.from_event(load_event("thumbnail.json"), "thumbnails/")

    assert request.purpose == "thumbnail"
    assert request.output_prefix.startswith("thumbnails/")


def test_handler_loads_neither_numpy_nor_soundfile_nor_pillow_heif() -> None:
    # Cold starts: the thumbnail function must not pay for the audio function's libraries,
    # nor for pillow-heif before a HEIF arrives.
    script = (
        "import io, sys\n"
        "from PIL import Image\n"
        "from thumbnailer import app, thumbnails\n"
        "jpeg = io.BytesIO()\n"
        "Image.new('RGB', (640, 480), 'teal').save(jpeg, 'JPEG')\n"
        "thumbnails.make_thumbnail(jpeg.getvalue(), 300)\n"
        "print(sorted({'numpy', 'soundfile', 'pillow_heif'} & set(sys.modules)))\n"
    )
    # As Lambda: the function's folder is the working directory, its layer is /opt/python.
    result = run_python(
        script,
        cwd=FUNCTION_DIR,
        pythonpath=lambda_pythonpath("ThumbnailFunction"),
        LAMBDA_TASK_ROOT=str(FUNCTION_DIR),
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip() == "[]"


# --- settings -----------------------------------------------------------------------------


def test_settings_defaults() -> None:
    settings = ThumbnailSettings.from_environment({})

    assert settings.thumbnail_size == 300
    assert settings.max_image_pixels == 40_000_000
    assert settings.output_prefix == "thumbnails/"


def test_settings_from_the_environment() -> None:
    settings = ThumbnailSettings.from_environment(
        {"THUMBNAIL_SIZE": "512", "MAX_IMAGE_PIXELS": "1000000", "OUTPUT_PREFIX": "derived/"}
    )

    assert (settings.thumbnail_size, settings.max_image_pixels) == (512, 1_000_000)
    assert settings.output_prefix == "derived/"


@pytest.mark.parametrize(
    ("environ", "variable"),
    [
        ({"THUMBNAIL_SIZE": "big"}, "THUMBNAIL_SIZE"),
        ({"THUMBNAIL_SIZE": "0"}, "THUMBNAIL_SIZE"),
        ({"MAX_IMAGE_PIXELS": "-5"}, "MAX_IMAGE_PIXELS"),
        ({"LABEL_SOURCE_SIZE": "20000"}, "LABEL_SOURCE_SIZE"),
        ({"OUTPUT_PREFIX": "uploads/thumbnails/"}, "OUTPUT_PREFIX"),
        ({"OUTPUT_PREFIX": "thumbnails"}, "OUTPUT_PREFIX"),
    ],
)
def test_settings_errors_name_the_variable(environ: dict[str, str], variable: str) -> None:
    with pytest.raises(ValueError, match=variable):
        ThumbnailSettings.from_environment(environ)


def test_handler_limits_pillow_to_max_image_pixels(
    monkeypatch: pytest.MonkeyPatch, s3: S3Client
) -> None:
    monkeypatch.setenv("MAX_IMAGE_PIXELS", "1000000")

    load_handler_module(monkeypatch)

    assert Image.MAX_IMAGE_PIXELS == 1_000_000
