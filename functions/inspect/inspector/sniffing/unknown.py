"""Unknown content: what its first bytes resemble, so that a rejection reason helps the person
who sent it ("PDF document", "ZIP archive", "HTML document", ...)."""

from __future__ import annotations

_SIGNATURES: tuple[tuple[int, bytes, str], ...] = (
    (0, b"%PDF", "PDF document"),
    (0, b"PK\x03\x04", "ZIP archive (or DOCX/XLSX/APK)"),
    (0, b"\x1f\x8b", "gzip archive"),
    (0, b"7z\xbc\xaf\x27\x1c", "7-Zip archive"),
    (0, b"Rar!", "RAR archive"),
    (0, b"\x7fELF", "ELF executable"),
    (0, b"MZ", "Windows executable"),
    (0, b"\x1aE\xdf\xa3", "Matroska/WebM video"),
    (0, b"caff", "Core Audio (CAF) audio"),
    (0, b"wvpk", "WavPack audio"),
    (0, b"#!AMR", "AMR audio"),
    (0, b"MThd", "MIDI file"),
    (0, b"8BPS", "Photoshop document"),
    (0, b"%!PS", "PostScript document"),
    (0, b"II+\x00", "BigTIFF image"),
    (0, b"MM\x00+", "BigTIFF image"),
    (0, b"\x00\x00\x00\x0cjP  ", "JPEG 2000 image"),
    (0, b"\xff\x4f\xff\x51", "JPEG 2000 codestream"),
    (0, b"qoif", "QOI image"),
    (0, b"\x00\x00\x01\x00", "Windows icon"),
    (8, b"AVI ", "AVI video"),
)


# Byte order marks, longest first: UTF-32 LE starts with the UTF-16 LE mark.
_BOMS = (
    (b"\xff\xfe\x00\x00", "utf-32-le", "UTF-32"),
    (b"\x00\x00\xfe\xff", "utf-32-be", "UTF-32"),
    (b"\xef\xbb\xbf", "utf-8", "UTF-8"),
    (b"\xff\xfe", "utf-16-le", "UTF-16"),
    (b"\xfe\xff", "utf-16-be", "UTF-16"),
)


def describe(head: bytes) -> str:
    """A short human description of what the first bytes look like."""
    if not head:
        return "nothing (empty)"
    for bom, encoding, label in _BOMS:
        # Before the signatures: "\xff\xfe" also starts an MPEG audio layer I frame header.
        if head.startswith(bom):
            # "ignore": the window may end inside a character.
            decoded = head[len(bom) : 512].decode(encoding, errors="ignore")
            if _printable(decoded):
                return f"{_describe_text(decoded)} in {label}, with a byte order mark"
    for offset, magic, name in _SIGNATURES:
        if head[offset : offset + len(magic)] == magic:
            return name
    if head[4:8] == b"ftyp":
        brand = head[8:12].decode("latin-1").strip()
        if brand in ("M4A", "M4B", "M4P"):
            return f"MPEG-4 audio (AAC, brand {brand!r})"
        return f"MPEG-4/QuickTime media (brand {brand!r})"
    if head[:4] in (b"RIFF", b"FORM"):
        return f"{head[:4].decode()} container of type {head[8:12].decode('latin-1')!r}"
    if len(head) >= 2 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0:
        layer = head[1] >> 1 & 3
        return "AAC audio (ADTS)" if layer == 0 else f"MPEG audio layer {4 - layer}"
    text = _as_text(head[:512])
    if text is not None:
        return _describe_text(text)
    return "binary data starting " + head[:8].hex(" ")


def _describe_text(text: str) -> str:
    stripped = text.lstrip().lower()
    if stripped.startswith(("<svg", "<?xml")):
        return "XML/SVG document"
    if stripped.startswith(("<!doctype html", "<html")):
        return "HTML document"
    return "text"


def _as_text(chunk: bytes) -> str | None:
    try:
        text = chunk.decode("utf-8")
    except UnicodeDecodeError as err:
        if err.start < len(chunk) - 3:  # not just a character cut at the end of the chunk
            return None
        text = chunk[: err.start].decode("utf-8")
    return text if _printable(text) else None


def _printable(text: str) -> bool:
    return bool(text) and all(c.isprintable() or c in "\t\r\n" for c in text)
