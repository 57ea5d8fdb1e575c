"""PNG output: one spectrogram image, or a labelled contact sheet of several."""

from __future__ import annotations

import io
import os

import numpy as np

from .fsutil import write_bytes_atomic


def png_bytes(rgb: np.ndarray) -> bytes:
    """Encode a uint8 RGB array as PNG (no metadata, so the bytes are deterministic)."""
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(rgb), mode="RGB").save(buffer, format="PNG", optimize=False)
    return buffer.getvalue()


def write_png(path: str | os.PathLike, rgb: np.ndarray) -> None:
    """Write ``rgb`` to ``path`` atomically."""
    write_bytes_atomic(path, png_bytes(rgb))


def contact_sheet(images: list[np.ndarray], labels: list[str], *, columns: int | None = None) -> np.ndarray:
    """Tile equally sized RGB images in a grid with each one's label printed underneath."""
    from PIL import Image, ImageDraw, ImageFont

    n = len(images)
    columns = columns or max(1, min(n, int(np.ceil(np.sqrt(n)))))
    rows = -(-n // columns)
    h, w = images[0].shape[:2]
    caption, gap = 18, 6
    sheet = Image.new("RGB", (columns * (w + gap) + gap, rows * (h + caption + gap) + gap), "white")
    draw = ImageDraw.Draw(sheet)
    font = ImageFont.load_default()
    for i, (image, label) in enumerate(zip(images, labels)):
        x = gap + (i % columns) * (w + gap)
        y = gap + (i // columns) * (h + caption + gap)
        sheet.paste(Image.fromarray(image, mode="RGB"), (x, y))
        text = label if draw.textlength(label, font=font) <= w else "..." + label[-(w // 7) :]
        draw.text((x, y + h + 3), text, fill="black", font=font)
    return np.asarray(sheet)
