"""Photo checks: formats by magic bytes, decoding, the bomb guard and memory budget, EXIF
stripping and orientation, GPS, the stored size, decodes one at a time."""

import asyncio
import io
import time

import pytest
from PIL import Image

from gridcase_runtime import photos
from gridcase_runtime.photos import MAX_SIDE, PhotoError, check_photo


def jpeg_with_gps(lat: float = 26.5, lon: float = 112.25) -> bytes:
    image = Image.new("RGB", (64, 48), (200, 30, 30))
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    gps = {1: "N", 2: (lat, 0.0, 0.0), 3: "E", 4: (lon, 0.0, 0.0)}
    exif[0x8825] = gps
    output = io.BytesIO()
    image.save(output, "JPEG", exif=exif)
    return output.getvalue()


def encoded(fmt: str, size: tuple[int, int] = (32, 32)) -> bytes:
    output = io.BytesIO()
    Image.new("RGB", size, (10, 120, 10)).save(output, fmt)
    return output.getvalue()


def test_exif_is_stripped_and_gps_is_read() -> None:
    original = jpeg_with_gps()
    assert Image.open(io.BytesIO(original)).getexif()
    photo = check_photo(original)
    assert photo.content_type == "image/jpeg"
    assert photo.gps == (26.5, 112.25)
    assert not Image.open(io.BytesIO(photo.data)).getexif()
    assert (photo.width, photo.height) == (64, 48)


@pytest.mark.parametrize(("fmt", "content_type"), [("PNG", "image/png"), ("WEBP", "image/webp")])
def test_png_and_webp_are_accepted(fmt: str, content_type: str) -> None:
    photo = check_photo(encoded(fmt))
    assert photo.content_type == content_type
    assert photo.gps is None


def test_other_formats_and_garbage_are_refused() -> None:
    with pytest.raises(PhotoError, match="not a JPEG, PNG or WebP"):
        check_photo(encoded("GIF"))
    with pytest.raises(PhotoError, match="not a JPEG"):
        check_photo(b"%PDF-1.7 pretending")
    with pytest.raises(PhotoError, match="does not decode"):
        check_photo(b"\x89PNG\r\n\x1a\n" + b"\x00" * 100)


def test_decompression_bombs_and_oversized_files_are_refused() -> None:
    with pytest.raises(PhotoError, match=r"pixels|decompression"):
        check_photo(encoded("PNG", (4000, 3000)), max_pixels=1_000_000)
    with pytest.raises(PhotoError, match="larger than"):
        check_photo(encoded("PNG"), max_bytes=10)


def turned_jpeg(size: tuple[int, int], **options: object) -> bytes:
    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation: rotate 90°
    output = io.BytesIO()
    Image.new("RGB", size, (90, 90, 200)).save(output, "JPEG", exif=exif, **options)
    return output.getvalue()


def test_the_stored_copy_is_upright_and_at_most_max_side() -> None:
    photo = check_photo(turned_jpeg((5000, 2500)))
    assert (photo.width, photo.height) == (1000, MAX_SIDE)
    assert Image.open(io.BytesIO(photo.data)).size == (1000, MAX_SIDE)
    small = check_photo(turned_jpeg((300, 200)))
    assert (small.width, small.height) == (200, 300)


def test_a_photo_that_would_need_more_memory_than_the_budget_is_refused() -> None:
    progressive = turned_jpeg((3000, 2000), progressive=True, subsampling=0)
    with pytest.raises(PhotoError, match=r"3000×2000 pixels need about \d+ MB.*smaller photo"):
        check_photo(progressive, budget_bytes=32 * 1024 * 1024)
    assert check_photo(turned_jpeg((3000, 2000))).width == 1333, "baseline: decoded smaller"


async def test_decodes_take_turns(monkeypatch: pytest.MonkeyPatch) -> None:
    running: list[int] = []
    most = 0

    def slow_check(data: bytes, *, max_bytes: int) -> bytes:
        nonlocal most
        running.append(1)
        most = max(most, len(running))
        time.sleep(0.05)
        running.pop()
        return data

    monkeypatch.setattr(photos, "check_photo", slow_check)
    done = await asyncio.gather(*(photos.checked_photo(bytes([n])) for n in range(4)))
    assert done == [b"\x00", b"\x01", b"\x02", b"\x03"]
    assert most == photos.DECODES_AT_ONCE
