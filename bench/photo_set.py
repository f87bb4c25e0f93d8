"""Synthetic photos for the duplicate-photo evaluation and the evidence tests: textured scenes (no flat
colours, which every perceptual hash finds alike) and the edits a fraudster's copy goes through."""

import io
from collections.abc import Callable
from datetime import datetime

import numpy as np
from PIL import Image, ImageDraw, ImageEnhance, ImageFilter

EXIF_IFD, GPS_IFD, DATE_TIME_ORIGINAL = 0x8769, 0x8825, 0x9003


def textured_photo(seed: int, size: tuple[int, int] = (640, 480)) -> Image.Image:
    """A scene of its own per seed: a lit gradient, waves, shapes of every colour, blur and sensor noise."""
    rng = np.random.default_rng(seed)
    width, height = size
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    channels = []
    for _ in range(3):
        base = rng.uniform(40, 200) + rng.uniform(-60, 60) * (x / width) + rng.uniform(-60, 60) * (y / height)
        for _ in range(4):
            fx, fy = rng.uniform(0.5, 8, 2) * 2 * np.pi
            base += rng.uniform(5, 30) * np.sin(fx * x / width + fy * y / height + rng.uniform(0, 6.3))
        channels.append(base)
    image = Image.fromarray(np.clip(np.stack(channels, axis=-1), 0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(image)
    for _ in range(int(rng.integers(6, 14))):
        x0, y0 = rng.uniform(0, width), rng.uniform(0, height)
        w, h = rng.uniform(width / 12, width / 2.5), rng.uniform(height / 12, height / 2.5)
        colour = tuple(int(c) for c in rng.integers(0, 256, 3))
        box = (x0, y0, x0 + w, y0 + h)
        (draw.ellipse if rng.random() < 0.5 else draw.rectangle)(box, fill=colour)
    image = image.filter(ImageFilter.GaussianBlur(1.2))
    noise = rng.normal(0, 6, (height, width, 3))
    return Image.fromarray(np.clip(np.asarray(image, dtype=np.float32) + noise, 0, 255).astype(np.uint8))


def jpeg(image: Image.Image, quality: int = 90, taken_at: datetime | None = None, gps: bool = False) -> bytes:
    """The photo as a camera would send it: JPEG, with when it was taken and where, if given."""
    exif = Image.Exif()
    if taken_at is not None:
        exif.get_ifd(EXIF_IFD)[DATE_TIME_ORIGINAL] = taken_at.strftime("%Y:%m:%d %H:%M:%S")
    if gps:
        exif.get_ifd(GPS_IFD).update({1: "N", 2: (51.0, 30.0, 12.0), 3: "W", 4: (0.0, 7.0, 39.0)})
    out = io.BytesIO()
    image.convert("RGB").save(out, format="JPEG", quality=quality, exif=exif.tobytes())
    return out.getvalue()


def _resized(image: Image.Image) -> Image.Image:
    return image.resize((image.width // 2, image.height // 2), Image.Resampling.LANCZOS)


def _recompressed(image: Image.Image) -> Image.Image:
    return Image.open(io.BytesIO(jpeg(image, quality=35)))


def _cropped(image: Image.Image) -> Image.Image:
    """5 % off the edges (2.5 % each side)."""
    dx, dy = round(image.width * 0.025), round(image.height * 0.025)
    return image.crop((dx, dy, image.width - dx, image.height - dy))


def _colour_shifted(image: Image.Image) -> Image.Image:
    warmer = ImageEnhance.Color(ImageEnhance.Brightness(image).enhance(1.12)).enhance(1.3)
    red, green, blue = warmer.split()
    return Image.merge("RGB", (red.point(lambda v: min(255, v + 12)), green, blue.point(lambda v: max(0, v - 10))))


EDITS: dict[str, Callable[[Image.Image], Image.Image]] = {
    "resized": _resized,
    "recompressed": _recompressed,
    "cropped_5_percent": _cropped,
    "colour_shifted": _colour_shifted,
}
"""The copies the evaluation must still recognise as the same photo."""
