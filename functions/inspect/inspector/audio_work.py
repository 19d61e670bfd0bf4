"""How much work a recording is for AudioFunction, and the limit that keeps it within its Timeout.

AudioFunction decodes and measures every sample (duration x sample rate x channels), so its
time grows with the samples, not with the file's size: 20 s of silent 8-channel 384 kHz FLAC
is 32 KB. Inspect refuses what it could not finish before its Timeout, naming the limit.

The limit, `MaxAudioSamples` (template.yaml), counts samples of PCM or FLAC. Some codecs cost
more to decode per sample: their samples count `DECODE_COST` times. Measured with
`analyze_audio` on one thread (AudioFunction's 1024 MB give 0.58 of a vCPU; Lambda gives one
vCPU at 1769 MB: https://docs.aws.amazon.com/lambda/latest/dg/configuration-memory.html), the
slowest recordings of each kind ran at, in million samples per CPU second:

    PCM WAV/AIFF/AU 58-110, FLAC 34-66, MS ADPCM 35, MP3 28, IMA ADPCM 23, Vorbis 14 (at
    560 kbit/s), Opus 5.1 (at 510 kbit/s), GSM 6.10 5.3; through FFmpeg (60 s files, 2026-11-28):
    AAC-LC 38-50, HE-AACv2 24.5, ALAC 15.8-18.7, AMR-WB 4.3, AMR-NB 3.1

FLAC's slowest, 34, is the reference; each cost is its ratio to it, rounded up. A header with
implicit HE-AAC signalling says half the rate (and mono for HE-AACv2), so its samples are
undercounted up to four times; MaxAudioSeconds still bounds it (2 h of 48 kHz stereo HE-AAC is
691200000 samples, 1382400000 at its cost, under the default limit).
"""

from __future__ import annotations

import math

from inspector.sniffing import MediaInfo, label_of

# codec (as sniffing reports it) -> (what a person calls it, cost per sample relative to FLAC)
DECODE_COST: dict[str, tuple[str, int]] = {
    "mp3": ("MP3", 2),
    "ima-adpcm": ("IMA ADPCM", 2),
    "ima4": ("IMA ADPCM", 2),
    "vorbis": ("Vorbis", 3),
    "opus": ("Opus", 8),
    "gsm610": ("GSM 6.10", 8),
    "he-aac": ("HE-AAC", 2),
    "he-aac-v2": ("HE-AACv2", 2),
    "alac": ("ALAC", 3),
    "amr-wb": ("AMR-WB", 8),
    "amr-nb": ("AMR", 11),
}


def audio_work_problem(media: MediaInfo, max_samples: int, max_seconds: float) -> str:
    """Why AudioFunction could not analyse `media` in time, naming the limit; "" when it can.

    A header that does not say how long the audio is (FLAC's 0, Ogg without its last page)
    is taken at its longest: AudioFunction stops after `max_seconds` (MaxAudioSeconds).
    """
    name, cost = DECODE_COST.get(media.codec, ("", 1))
    limit = max_samples // cost
    if cost == 1:
        named = f"the limit is MaxAudioSamples={max_samples}"
    else:
        named = (
            f"{name} takes {cost} times as long to decode as FLAC, "
            f"so the limit is MaxAudioSamples/{cost}={limit}"
        )
    shape = f"{media.sample_rate} Hz x {media.channels} channels"
    if media.duration_known:
        if media.samples <= limit:
            return ""
        return (
            f"audio is {media.samples} samples ({media.duration_seconds:g} s x {shape}), "
            f"more than AudioFunction can analyse within its timeout; {named}"
        )
    longest = math.floor(max_seconds * media.sample_rate) * media.channels
    if longest <= limit:
        return ""
    return (
        f"the {label_of(media.format)} header does not say how long the audio is, and "
        f"MaxAudioSeconds={max_seconds:g} of {shape} would be {longest} samples, more than "
        f"AudioFunction can analyse within its timeout; {named}"
    )
