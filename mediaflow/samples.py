"""Make samples/: small media files that show what Mediaflow does with each kind of upload.

    python -m mediaflow.samples samples

- photo.jpg: a camera photo, stored rotated with EXIF orientation 6 and GPS tags
  (the thumbnail comes out upright and without the GPS);
- logo.png: a PNG with transparency;
- dawn-chorus.wav: a 6-second stereo field recording, 48 kHz, 24-bit;
- voice-memo.m4a: a 5-second mono recording as a phone's voice recorder writes it (AAC-LC,
  48 kHz, 64 kb/s, in an M4A whose `moov` follows the audio);
- invoice.jpg: a PDF whose name says JPEG, which must be REJECTED.

The names match the sample events in events/, so `mediaflow invoke` finds them.
"""

from __future__ import annotations

import sys
from pathlib import Path

from mediaflow.corpora import audio, images, phone_audio


def make_samples(folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    written = {
        "photo.jpg": images.photo_jpeg(1600, 1200, orientation=6, quality=82),
        "logo.png": images.transparent_png(480, 360),
        "invoice.jpg": _pdf(),
    }
    for name, data in written.items():
        (folder / name).write_bytes(data)
    recording = audio.write_audio(
        folder / "dawn-chorus.wav", audio.field_recording(channels=2), 6.0, subtype="PCM_24"
    )
    memo = phone_audio.write_aac_m4a(
        folder / "voice-memo.m4a", audio.field_recording(sample_rate=48_000, seed=7), 5.0
    )
    return [folder / name for name in written] + [recording, memo]


def _pdf() -> bytes:
    """A minimal, valid one-page PDF."""
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>",
    ]
    body, offsets = b"%PDF-1.7\n", []
    for number, content in enumerate(objects, start=1):
        offsets.append(len(body))
        body += b"%d 0 obj\n%s\nendobj\n" % (number, content)
    xref = len(body)
    body += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    body += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    body += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return body


if __name__ == "__main__":
    for path in make_samples(Path(sys.argv[1] if len(sys.argv) > 1 else "samples")):
        print(f"wrote {path} ({path.stat().st_size} bytes)")
