"""Analyze audio: the handler of `AudioFunction` in template.yaml.

Streams one version of an uploaded recording to a file in /tmp (libsndfile needs to seek),
measures it in one pass over fixed-size blocks, and writes the waveform picture to
`<outputPrefix>waveform.png`. The payloads are in docs/contracts.md, "Analyze audio".
"""

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import boto3
from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from mediakit.derived_files import WAVEFORM, write_derived
from mediakit.object_reads import download
from mediakit.task import ObjectTask

from audio_analyzer.errors import MediaError, MediaTooLarge
from audio_analyzer.settings import AudioSettings

# One BLAS thread: the K-weighting's matrix products are small, and a second BLAS thread would
# only compete with the decoding thread for the function's vCPUs. Must precede numpy's import.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

from audio_analyzer.analysis import FLOOR_DBFS, AudioAnalysis, analyze_audio
from audio_analyzer.waveform import render_waveform_png

# No `from __future__ import annotations` here: the local cloud may load this file under a name
# of its own, where dataclasses resolve annotations only if they are real objects.

SETTINGS = AudioSettings.from_environment()
SCRATCH_HEADROOM_BYTES = 16 * 1024 * 1024
"""Room left in /tmp beside the downloaded recording."""

logger = Logger()
# S3 is all the function calls; patching every library X-Ray knows would slow cold starts.
tracer = Tracer(patch_modules=["botocore"])
metrics = Metrics()
s3 = boto3.client("s3")


class AudioRequest(ObjectTask):
    """One recording to analyse; its waveform goes under `output_prefix`."""


@logger.inject_lambda_context(clear_state=True)  # no keys left over from the last invocation
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    request = AudioRequest.from_event(event, SETTINGS.output_prefix)
    logger.append_keys(bucket=request.bucket, key=request.key, version_id=request.version_id)
    return analyze_and_store(request)


@tracer.capture_method
def analyze_and_store(request: AudioRequest) -> dict[str, Any]:
    """Measures the recording, writes its waveform PNG, returns the contract's payload."""
    try:
        with _download(request) as path:
            analysis = analyze_audio(path, SETTINGS)
    except MediaError as error:
        logger.warning("Audio refused", error=type(error).__name__, reason=str(error))
        metrics.add_metric(name="AudioRefused", unit=MetricUnit.Count, value=1)
        raise

    png = render_waveform_png(analysis.waveform_min, analysis.waveform_max)
    written = write_derived(s3, request, WAVEFORM, png)
    logger.info("Wrote", output_key=written.key, bytes=written.size)
    metrics.add_metric(name="AudioAnalyzed", unit=MetricUnit.Count, value=1)
    metrics.add_metric(
        name="AudioSecondsAnalyzed", unit=MetricUnit.Seconds, value=analysis.duration_seconds
    )
    return _payload(analysis, written.key)


def _payload(analysis: AudioAnalysis, waveform_key: str) -> dict[str, Any]:
    """The contract's keys, rounded to what the measurements can tell apart."""
    loudness = analysis.loudness_lufs
    return {
        "durationSeconds": round(analysis.duration_seconds, 3),
        "sampleRate": analysis.sample_rate,
        "channels": analysis.channels,
        "format": analysis.format,
        "subtype": analysis.subtype,
        "peakDbfs": round(analysis.peak_dbfs, 2),
        "rmsDbfs": round(analysis.rms_dbfs, 2),
        "dcOffset": round(analysis.dc_offset, 6),
        "clippingRatio": round(analysis.clipping_ratio, 6),
        "silenceRatio": round(analysis.silence_ratio, 4),
        "spectralCentroidHz": round(analysis.spectral_centroid_hz, 1),
        # The record's attributes are typed numbers, never null (docs/contracts.md).
        "loudnessLufs": FLOOR_DBFS if loudness is None else round(loudness, 2),
        "waveformKey": waveform_key,
    }


@contextmanager
def _download(request: AudioRequest) -> Iterator[str]:
    """The path of a temporary file holding the object version, deleted afterwards."""

    def check_room(size: int) -> None:
        free = shutil.disk_usage(scratch.name).free
        if size + SCRATCH_HEADROOM_BYTES > free:
            raise MediaTooLarge(
                f"{size} bytes do not fit in the {free} bytes free in {tempfile.gettempdir()}"
            )

    with tempfile.NamedTemporaryFile(prefix="audio-") as scratch:
        download(s3, request, scratch, check_size=check_room)
        scratch.flush()
        yield scratch.name
