"""Peak memory of a photo check, measured in a fresh process, and the photos that make the
worst case: the largest of each kind the check accepts, turned by EXIF, and bombs.

`python -m runtime.photo_memory` (from tests/) prints the figures of each."""

import io
import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from PIL import Image

_MEASURE = """
import json, sys
from gridcase_runtime.photos import PhotoError, check_photo

def status(field):
    for line in open("/proc/self/status"):
        if line.startswith(field + ":"):
            return int(line.split()[1])

data = open(sys.argv[1], "rb").read()
before = status("VmHWM")
try:
    photo = check_photo(data)
    outcome = f"accepted {photo.width}x{photo.height}"
except PhotoError as error:
    outcome = f"refused: {error}"
print(json.dumps({"before_kib": before, "peak_kib": status("VmHWM"), "outcome": outcome}))
"""


def measure(path: Path) -> dict[str, object]:
    """The peak RSS (KiB, VmHWM: unlike ru_maxrss it starts afresh at exec) of a new
    interpreter that checks the photo in `path`, its peak before the check (imports and
    the file read), and what the check said."""
    result = subprocess.run(
        [sys.executable, "-c", _MEASURE, str(path)],
        capture_output=True,
        text=True,
        check=True,
    )
    figures: dict[str, object] = json.loads(result.stdout)
    return figures


def _turned_exif() -> Image.Exif:
    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation: rotate 90°
    return exif


def flat_image(mode: str, size: tuple[int, int]) -> Image.Image:
    """A plain image with a gradient strip, so it compresses well but is not empty."""
    image = Image.new(mode, size, "white" if mode != "CMYK" else (0, 0, 0, 0))
    strip = Image.linear_gradient("L").resize((size[0], min(256, size[1])))
    image.paste(strip.convert(mode), (0, 0))
    return image


def encoded(format: str, mode: str, size: tuple[int, int], **options: object) -> bytes:
    output = io.BytesIO()
    flat_image(mode, size).save(output, format, exif=_turned_exif(), **options)
    return output.getvalue()


_JPEG: dict[str, object] = {"format": "JPEG", "mode": "RGB", "progressive": True}
WORST_ACCEPTED: dict[str, Callable[[], bytes]] = {
    "progressive-jpeg-444-halved": lambda: encoded(**_JPEG, size=(4000, 2080), subsampling=0),
    "progressive-jpeg-420-halved": lambda: encoded(**_JPEG, size=(4200, 3150), subsampling=2),
    "progressive-jpeg-cmyk": lambda: encoded("JPEG", "CMYK", (2360, 1770), progressive=True),
    "baseline-jpeg-27mp": lambda: encoded("JPEG", "RGB", (6000, 4500), quality=50),
    "png-rgba": lambda: encoded("PNG", "RGBA", (2730, 2040)),
    "png-16bit-grey": lambda: encoded("PNG", "I;16", (4700, 3520)),
    "webp-rgb": lambda: encoded("WEBP", "RGB", (2100, 1575), lossless=True),
}
"""Near the largest photo of each kind within the decode budget (64 MiB), turned by EXIF.
A progressive JPEG twice MAX_SIDE wide is decoded at half scale, so it may declare more
pixels than a narrower one."""


def png_bomb(size: tuple[int, int] = (100_000, 100_000)) -> bytes:
    """A tiny PNG whose header declares `size`: 10 billion pixels in a few bytes."""
    import struct
    import zlib

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body))
            + kind
            + body
            + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)
        )

    header = struct.pack(">IIBBBBB", size[0], size[1], 8, 6, 0, 0, 0)
    row = b"\x00" + b"\x00" * 4 * size[0]
    pixels = zlib.compress(row * 4)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


def jpeg_bomb() -> bytes:
    """A progressive JPEG within the pixel cap whose coefficients would not fit the budget:
    7,000 × 7,000 at 4:4:4 declares 49 MP, about 280 MiB of coefficients."""
    return encoded("JPEG", "RGB", (7000, 7000), progressive=True, subsampling=0, quality=5)


if __name__ == "__main__":
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        makers = {**WORST_ACCEPTED, "png-bomb": png_bomb, "jpeg-bomb": jpeg_bomb}
        for kind, make in makers.items():
            path = Path(folder) / kind
            path.write_bytes(make())
            figures = measure(path)
            print(
                f"{kind:28} {path.stat().st_size >> 10:6} KiB"
                f"  peak {int(str(figures['peak_kib'])) / 1024:6.1f} MiB  {figures['outcome']}"
            )
