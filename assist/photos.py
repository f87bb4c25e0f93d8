"""Reading an uploaded photo: its real type from its bytes, its size, when it was taken, its
perceptual hash, and a copy without location data to keep.

Everything runs in this process with Pillow and ImageHash; nothing leaves the machine.
"""

import hashlib
import io
import warnings
from dataclasses import dataclass
from datetime import UTC, datetime

import imagehash
from PIL import Image, ImageOps, UnidentifiedImageError

# What a photo may be, judged from its bytes (the file name and the declared type are not trusted).
ACCEPTED_FORMATS = frozenset({"JPEG", "PNG", "WEBP"})
# EXIF tags: the Exif and GPS sub-directories, when the photo was taken, the camera's orientation.
EXIF_IFD, GPS_IFD = 0x8769, 0x8825
DATE_TIME_ORIGINAL, ORIENTATION = 0x9003, 0x0112


class NotAnImage(Exception):
    """The bytes are not a photo in an accepted format."""


class TooManyPixels(Exception):
    """The image would decode to more pixels than allowed (a decompression bomb, or simply too large)."""


@dataclass(frozen=True)
class Photo:
    """An uploaded photo, read: what is kept and what the evidence checks need."""

    content: bytes  # the photo to keep: location data removed
    media_type: str
    sha256: str  # of the content kept
    perceptual_hash: str  # 64-bit pHash, hexadecimal
    width: int
    height: int
    taken_at: datetime | None


def read_photo(data: bytes, max_pixels: int) -> Photo:
    """Check, measure and clean one upload; ``NotAnImage`` or ``TooManyPixels`` when it cannot be kept."""
    image = _open(data, max_pixels)
    taken_at = _taken_at(image)
    image.load()
    # PNG and WebP carry location only in EXIF or XMP chunks; re-encoding without them drops it.
    content = _without_location(image) if image.format == "JPEG" else _reencoded(image)
    return Photo(
        content=content,
        media_type=Image.MIME[image.format or "JPEG"],
        sha256=hashlib.sha256(content).hexdigest(),
        perceptual_hash=perceptual_hash(image),
        width=image.width,
        height=image.height,
        taken_at=taken_at,
    )


def perceptual_hash(image: Image.Image) -> str:
    """The photo's 64-bit perceptual hash (DCT of the grey 32×32 thumbnail), upright as the camera meant it."""
    return str(imagehash.phash(ImageOps.exif_transpose(image)))


def _open(data: bytes, max_pixels: int) -> Image.Image:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            probe = Image.open(io.BytesIO(data))
            probe.verify()  # structure and checksums, without decoding the pixels
        image = Image.open(io.BytesIO(data))
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise TooManyPixels() from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as error:
        raise NotAnImage(str(error)) from None
    if image.format not in ACCEPTED_FORMATS:
        raise NotAnImage(f"{image.format} images are not accepted")
    if image.width * image.height > max_pixels:
        raise TooManyPixels()
    return image


def _taken_at(image: Image.Image) -> datetime | None:
    """EXIF DateTimeOriginal, read as UTC (cameras write local time without a zone; a day's error is
    what this costs, and the check it feeds compares against a delivery day)."""
    written = image.getexif().get_ifd(EXIF_IFD).get(DATE_TIME_ORIGINAL)
    if not isinstance(written, str):
        return None
    try:
        return datetime.strptime(written.strip("\x00 "), "%Y:%m:%d %H:%M:%S").replace(tzinfo=UTC)
    except ValueError:
        return None


def _without_location(image: Image.Image) -> bytes:
    """The JPEG re-encoded at high quality with its EXIF minus the GPS directory (the time it was taken stays)."""
    exif = image.getexif()
    exif.get_ifd(GPS_IFD)  # loads it, so that removing drops it
    exif.pop(GPS_IFD, None)
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=95, exif=exif.tobytes())
    return out.getvalue()


def _reencoded(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, format=image.format)
    return out.getvalue()
