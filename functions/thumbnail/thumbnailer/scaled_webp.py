"""WebP decoded straight to a reduced size, with libwebp's advanced decoding API.

Pillow decodes a WebP whole, into a full-size RGBA canvas (188 MiB for 12 MP, copied twice
on the way), and has no `draft` for it. libwebp itself can scale while it decodes
(`WebPDecoderConfig.options.use_scaling`): each row is reduced by area averaging as soon as
it is reconstructed, so a 12 MP photo never exists at full size; with `use_threads` the
in-loop filtering runs on a second thread. That is what libvips' thumbnail does too.

The library is the libwebp that Pillow is linked with (its wheel's `pillow.libs`, or the
system's), called through ctypes: the structs below are those of libwebp's `decode.h`, whose
layout the library itself checks against `WEBP_DECODER_ABI_VERSION` before it touches them.
When no libwebp is found, or it refuses that ABI version, `decode_scaled` returns None and
Pillow decodes the image whole, as before.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import glob
import os

import PIL
from PIL import Image

WEBP_DECODER_ABI_VERSION = 0x0209
"""decode.h's ABI version in libwebp 1.2 (Debian 12's), whose structs these are. The library
accepts any version with its own major byte (2 in 1.0 to 1.6), and refuses the rest."""

_MODE_RGB = 0  # WEBP_CSP_MODE
_MODE_RGBA = 1  # not premultiplied, as Pillow's RGBA
_VP8_STATUS = (
    "OK",
    "OUT_OF_MEMORY",
    "INVALID_PARAM",
    "BITSTREAM_ERROR",
    "UNSUPPORTED_FEATURE",
    "SUSPENDED",
    "USER_ABORT",
    "NOT_ENOUGH_DATA",
)


class _BitstreamFeatures(ctypes.Structure):
    _fields_ = [
        ("width", ctypes.c_int),
        ("height", ctypes.c_int),
        ("has_alpha", ctypes.c_int),
        ("has_animation", ctypes.c_int),
        ("format", ctypes.c_int),
        ("pad", ctypes.c_uint32 * 5),
    ]


class _RGBABuffer(ctypes.Structure):
    _fields_ = [("rgba", ctypes.c_void_p), ("stride", ctypes.c_int), ("size", ctypes.c_size_t)]


class _YUVABuffer(ctypes.Structure):
    _fields_ = [
        *((plane, ctypes.c_void_p) for plane in ("y", "u", "v", "a")),
        *((stride, ctypes.c_int) for stride in ("y_stride", "u_stride", "v_stride", "a_stride")),
        *((size, ctypes.c_size_t) for size in ("y_size", "u_size", "v_size", "a_size")),
    ]


class _Buffers(ctypes.Union):
    _fields_ = [("RGBA", _RGBABuffer), ("YUVA", _YUVABuffer)]


class _DecBuffer(ctypes.Structure):
    _fields_ = [
        ("colorspace", ctypes.c_int),
        ("width", ctypes.c_int),
        ("height", ctypes.c_int),
        ("is_external_memory", ctypes.c_int),
        ("u", _Buffers),
        ("pad", ctypes.c_uint32 * 4),
        ("private_memory", ctypes.c_void_p),
    ]


class _DecoderOptions(ctypes.Structure):
    _fields_ = [
        *(
            (name, ctypes.c_int)
            for name in (
                "bypass_filtering",
                "no_fancy_upsampling",
                "use_cropping",
                "crop_left",
                "crop_top",
                "crop_width",
                "crop_height",
                "use_scaling",
                "scaled_width",
                "scaled_height",
                "use_threads",
                "dithering_strength",
                "flip",
                "alpha_dithering_strength",
            )
        ),
        ("pad", ctypes.c_uint32 * 5),
    ]


class _DecoderConfig(ctypes.Structure):
    _fields_ = [("input", _BitstreamFeatures), ("output", _DecBuffer), ("options", _DecoderOptions)]


def decode_scaled(data: bytes, size: tuple[int, int]) -> Image.Image | None:
    """The still WebP in `data`, decoded at `size` (RGB, or RGBA when it has alpha), scaled
    while decoding unless `size` is the image's own.

    None when libwebp's scaling cannot be used here: no usable libwebp, or an animation
    (whose frames are composited on a canvas, which Pillow does). A bitstream that libwebp
    cannot decode raises OSError, as Pillow's decoder does.
    """
    library = _libwebp()
    if library is None:
        return None
    config = _DecoderConfig()
    if not library.WebPInitDecoderConfigInternal(ctypes.byref(config), WEBP_DECODER_ABI_VERSION):
        return None
    features = config.input
    status = library.WebPGetFeaturesInternal(
        data, len(data), ctypes.byref(features), WEBP_DECODER_ABI_VERSION
    )
    if status != 0 or features.has_animation:
        return None  # Pillow opened it, so it reads the header; let Pillow decode it too
    width, height = size
    mode, colorspace = ("RGBA", _MODE_RGBA) if features.has_alpha else ("RGB", _MODE_RGB)
    stride = width * len(mode)
    pixels = bytearray(stride * height)
    output = config.output
    output.colorspace = colorspace
    output.is_external_memory = 1
    output.u.RGBA.rgba = ctypes.addressof(ctypes.c_uint8.from_buffer(pixels))
    output.u.RGBA.stride = stride
    output.u.RGBA.size = len(pixels)
    options = config.options
    options.use_scaling = size != (features.width, features.height)
    options.scaled_width, options.scaled_height = width, height
    options.use_threads = 1
    status = library.WebPDecode(data, len(data), ctypes.byref(config))
    if status != 0:
        name = _VP8_STATUS[status] if 0 <= status < len(_VP8_STATUS) else str(status)
        raise OSError(f"libwebp cannot decode the WebP bitstream (VP8_STATUS_{name})")
    return Image.frombuffer(mode, size, pixels, "raw", mode, 0, 1)


@functools.cache
def _libwebp() -> ctypes.CDLL | None:
    """Pillow's libwebp: the one its wheel bundles, else the system's."""
    bundled = glob.glob(
        os.path.join(os.path.dirname(PIL.__file__), "..", "pillow.libs", "libwebp-*")
    )
    name = bundled[0] if bundled else ctypes.util.find_library("webp")
    if name is None:
        return None
    try:
        library = ctypes.CDLL(name)
    except OSError:
        return None
    library.WebPInitDecoderConfigInternal.argtypes = [ctypes.POINTER(_DecoderConfig), ctypes.c_int]
    library.WebPGetFeaturesInternal.argtypes = [
        ctypes.c_char_p,
        ctypes.c_size_t,
        ctypes.POINTER(_BitstreamFeatures),
        ctypes.c_int,
    ]
    library.WebPDecode.argtypes = [ctypes.c_char_p, ctypes.c_size_t, ctypes.POINTER(_DecoderConfig)]
    return library
