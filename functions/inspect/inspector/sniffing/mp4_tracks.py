"""The tracks of an MPEG-4 `moov` box: each track's handler (`soun` audio, `vide` video, ...),
media timescale and duration (`mdhd`) and edit list (`elst`: the duration as presented, without
the encoder's priming), and the audio track's first sample entry (`stsd`): codec, rate and
channels, from the codec's own configuration where it has one (AAC's `esds`, ALAC's `alac`).

The `moov` box may be cut short by the bytes read. What is needed of each track comes before
its sample tables, so each walk stops at the last box it needs, and the walk over the tracks
stops once `mvhd`'s next track ID says that every track has been seen (IDs are unique and below
it, ISO/IEC 14496-12 8.2.2). Bytes still missing raise `NeedMoreBytes` (mp4.py asks for them).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from inspector.errors import CorruptHeader, UnsupportedEncoding
from inspector.sniffing.isobmff import box_name, boxes
from inspector.sniffing.mpeg4_audio import es_descriptor_config
from inspector.sniffing.reading import MAX_STEPS, read_bytes, read_int, unpack

_UNKNOWN_DURATION = {0xFFFFFFFF, 0xFFFFFFFFFFFFFFFF}  # all ones: "not known" (mdhd)
_OTHER_CODECS = {
    b".mp3": "MP3", b"ac-3": "AC-3", b"ec-3": "E-AC-3", b"ac-4": "AC-4", b"Opus": "Opus",
    b"fLaC": "FLAC", b"lpcm": "PCM", b"sowt": "PCM", b"twos": "PCM", b"ipcm": "PCM",
    b"fpcm": "PCM", b"in24": "PCM", b"in32": "PCM", b"fl32": "PCM", b"fl64": "PCM",
    b"raw ": "PCM", b"ulaw": "u-law", b"alaw": "A-law", b"ima4": "IMA ADPCM",
    b"mha1": "MPEG-H 3D audio", b"mhm1": "MPEG-H 3D audio", b"dtsc": "DTS", b"dtsh": "DTS",
    b"enca": "encrypted (DRM-protected) audio", b"drms": "encrypted (DRM-protected) audio",
}  # fmt: skip


@dataclass(frozen=True)
class AudioCoding:
    codec: str  # Inspect's name: "aac-lc", "he-aac", "he-aac-v2", "aac", "alac", "amr-nb", ...
    sample_rate: int
    channels: int
    bits: int = 0  # bits per sample of lossless coding (ALAC); 0 for lossy codecs


@dataclass(frozen=True)
class Movie:
    audio: AudioCoding
    duration_seconds: float  # as presented; 0 when the header does not say (fragmented files)


@dataclass(frozen=True)
class _Track:
    handler: bytes
    timescale: int
    duration: int  # in the track's timescale (priming and end padding included); 0: unknown
    presented: int  # the edit list's total, in the movie's timescale; 0 when it has none
    media_information: tuple[int, int]  # the `minf` box: payload start, end


def read_moov(buf: bytes, start: int, end: int, fmt: str) -> Movie:
    """The audio of the `moov` box whose payload is buf[start:end]; `UnsupportedEncoding` for
    a file with a video track, without an audio track, or with audio in another codec."""
    movie_timescale, tracks = _tracks(buf, start, end, fmt)
    audio = next((track for track in tracks if track.handler == b"soun"), None)
    if audio is None:
        raise UnsupportedEncoding(fmt, "it has no audio track")
    coding = _audio_coding(buf, audio.media_information, fmt)
    return Movie(coding, _duration(audio, movie_timescale, fmt))


def _tracks(buf: bytes, start: int, end: int, fmt: str) -> tuple[int, list[_Track]]:
    """The movie's timescale and its tracks; a video track is refused as soon as it is seen."""
    timescale = next_track_id = 0
    tracks: list[_Track] = []
    for box, payload, box_end in boxes(buf, start, end, fmt):
        if box == b"mvhd":
            timescale, next_track_id = _movie_header(buf, payload)
        elif box == b"trak":
            track = _track(buf, payload, box_end, fmt)
            if track.handler == b"vide":
                raise UnsupportedEncoding(
                    fmt, "it holds a video track (Mediaflow takes audio-only MPEG-4 files)"
                )
            tracks.append(track)
        every_track_seen = 2 <= next_track_id <= len(tracks) + 1
        if every_track_seen and box_end + 8 > len(buf):
            break  # what follows (metadata, free space) lies beyond the bytes read
    return timescale, tracks


def _movie_header(buf: bytes, payload: int) -> tuple[int, int]:
    """(timescale, next track ID) of an `mvhd` box (version 1: 64-bit times)."""
    if read_int("B", buf, payload) == 1:
        return read_int(">I", buf, payload + 20), read_int(">I", buf, payload + 108)
    return read_int(">I", buf, payload + 12), read_int(">I", buf, payload + 96)


def _track(buf: bytes, start: int, end: int, fmt: str) -> _Track:
    trak = _children(buf, start, end, fmt, until=b"mdia")
    mdia = _children(buf, *_required(trak, b"mdia", fmt), fmt)
    handler_payload = _required(mdia, b"hdlr", fmt)[0]
    timescale, duration = _media_header(buf, _required(mdia, b"mdhd", fmt)[0])
    presented = _edit_duration(buf, trak[b"edts"], fmt) if b"edts" in trak else 0
    return _Track(
        handler=read_bytes(buf, handler_payload + 8, 4),  # after version, flags, pre_defined
        timescale=timescale,
        duration=duration,
        presented=presented,
        media_information=_required(mdia, b"minf", fmt),
    )


def _children(
    buf: bytes, start: int, end: int, fmt: str, until: bytes = b""
) -> dict[bytes, tuple[int, int]]:
    """The first box of each type in buf[start:end] (payload start, end), up to and including
    `until`: what comes after it (sample tables) is not needed and may lie past `buf`."""
    found: dict[bytes, tuple[int, int]] = {}
    for box, payload, box_end in boxes(buf, start, end, fmt):
        found.setdefault(box, (payload, box_end))
        if box == until:
            break
    return found


def _required(found: dict[bytes, tuple[int, int]], box: bytes, fmt: str) -> tuple[int, int]:
    if box not in found:
        raise CorruptHeader(fmt, f"a track has no '{box_name(box)}' box")
    return found[box]


def _media_header(buf: bytes, payload: int) -> tuple[int, int]:
    """(timescale, duration) of an `mdhd` box; duration 0 when it says it does not know."""
    if read_int("B", buf, payload) == 1:
        timescale, duration = unpack(">IQ", buf, payload + 20)
    else:
        timescale, duration = unpack(">II", buf, payload + 12)
    return timescale, 0 if duration in _UNKNOWN_DURATION else duration


def _edit_duration(buf: bytes, edts: tuple[int, int], fmt: str) -> int:
    """The total duration of an edit list's edits that show media (an empty edit, media time
    -1, only delays the start), in the movie's timescale."""
    elst = _children(buf, *edts, fmt).get(b"elst")
    if elst is None:
        return 0
    start, end = elst
    version, count = read_int("B", buf, start), read_int(">I", buf, start + 4)
    entry_fmt, entry_size = (">Qq", 20) if version == 1 else (">Ii", 12)
    if count > (end - start - 8) // entry_size:
        raise CorruptHeader(fmt, f"the edit list claims {count} edits in {end - start} bytes")
    total = 0
    for index in range(min(count, MAX_STEPS)):
        segment, media_time = unpack(entry_fmt, buf, start + 8 + index * entry_size)
        if media_time >= 0:
            total += segment
    return total


def _duration(track: _Track, movie_timescale: int, fmt: str) -> float:
    """The audio track's duration as presented: its edit list's, without the encoder's priming
    (which MP4 players drop), else its media duration; 0 when neither says."""
    if track.timescale == 0:
        raise CorruptHeader(fmt, "the audio track's timescale is 0")
    media = track.duration / track.timescale
    if track.presented and movie_timescale:
        presented = track.presented / movie_timescale
        return min(presented, media) if media else presented
    return media


def _audio_coding(buf: bytes, media_information: tuple[int, int], fmt: str) -> AudioCoding:
    """Codec, rate and channels from the first sample entry of the audio track's `stsd`."""
    minf = _children(buf, *media_information, fmt, until=b"stbl")
    stbl = _children(buf, *_required(minf, b"stbl", fmt), fmt, until=b"stsd")
    start, end = _required(stbl, b"stsd", fmt)
    entry = next(boxes(buf, start + 8, end, fmt), None)  # after version, flags, entry count
    if entry is None:
        raise CorruptHeader(fmt, "the audio track has no sample description")
    return _sample_entry(buf, *entry, fmt)


def _sample_entry(buf: bytes, entry: bytes, start: int, end: int, fmt: str) -> AudioCoding:
    # An AudioSampleEntry: 8 reserved/reference bytes, then QuickTime's sound description
    # version (1 and 2 add fields before the child boxes), channels, bits, and a 16.16 rate.
    version = read_int(">H", buf, start + 8)
    channels, bits = unpack(">HH", buf, start + 16)
    rate = read_int(">I", buf, start + 24) >> 16
    children = start + {1: 44, 2: 64}.get(version, 28)
    if version == 2:  # rate as a float64, channels as a 32-bit count
        exact = unpack(">d", buf, start + 32)[0]
        rate = round(exact) if math.isfinite(exact) and 0 < exact < 2**32 else 0
        channels, bits = read_int(">I", buf, start + 40), read_int(">I", buf, start + 48)
    if entry == b"mp4a":
        esds = _nested(buf, children, end, b"esds", fmt)
        if esds is None:
            raise CorruptHeader(fmt, "the AAC track has no 'esds' box")
        config = es_descriptor_config(buf, esds[0] + 4, esds[1], fmt)
        return AudioCoding(config.codec, config.sample_rate, config.channels or channels)
    if entry == b"alac":
        cookie = _nested(buf, children, end, b"alac", fmt)
        if cookie is None:
            return AudioCoding("alac", rate, channels, bits)
        # ALACSpecificConfig after version and flags: frame length (4), compatible version,
        # bit depth, three tuning bytes, channels, max run (2), max frame bytes, bit rate, rate
        at = cookie[0] + 4
        bits, channels = read_int("B", buf, at + 5), read_int("B", buf, at + 9)
        return AudioCoding("alac", read_int(">I", buf, at + 20), channels, bits)
    if entry == b"samr":  # 3GPP TS 26.244: AMR is 8 kHz mono, AMR-WB 16 kHz mono
        return AudioCoding("amr-nb", 8000, 1)
    if entry == b"sawb":
        return AudioCoding("amr-wb", 16000, 1)
    name = _OTHER_CODECS.get(entry, f"the codec '{box_name(entry)}'")
    raise UnsupportedEncoding(fmt, f"its audio track holds {name}, not AAC, ALAC or AMR")


def _nested(buf: bytes, start: int, end: int, box: bytes, fmt: str) -> tuple[int, int] | None:
    """A child box of a sample entry, or of its QuickTime `wave` box."""
    children = _children(buf, start, end, fmt)
    if box in children:
        return children[box]
    if b"wave" in children:
        return _children(buf, *children[b"wave"], fmt).get(box)
    return None
