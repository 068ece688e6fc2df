"""Photos attached to reports and to evidence: checked, stripped of metadata, stored in
MongoDB in chunks (no GridFS: the Mongo-wire server used locally does not support it).

Only JPEG, PNG and WebP are accepted: the magic bytes must say so and the image must
decode within a memory budget sized to the pod (a decompression-bomb guard). The stored
copy is at most MAX_SIDE pixels on its longest side (a JPEG is decoded at a reduced scale
to begin with: Pillow's draft mode), re-encoded without EXIF or other metadata, after
applying the EXIF orientation; GPS coordinates from the original EXIF are returned so a
report without coordinates can use them.
"""

import asyncio
import hashlib
import io
import math
import uuid
import warnings
import weakref
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from bson import Binary
from PIL import Image, ImageOps, UnidentifiedImageError
from PIL.JpegImagePlugin import JpegImageFile
from pymongo import ASCENDING

from gridcase_contracts.events import PhotoRef
from gridcase_runtime.mongo import MongoDatabase

MAX_PHOTO_BYTES = 10 * 1024 * 1024
MAX_PIXELS = 50_000_000
"""Declared size: beyond it nothing is decoded at all."""
MAX_SIDE = 2000
"""The stored copy's longest side."""
DECODE_BUDGET_BYTES = 64 * 1024 * 1024
"""Memory one check may take. Intake's pod may use 512 MiB; a check may hold a quarter
of it including the interpreter (about 40 MiB) and its transient copies."""
DECODES_AT_ONCE = 1
"""Photos decoded at once per process: the pods have one CPU, so more would only add
memory."""
CHUNK_BYTES = 255 * 1024

_MAGIC: tuple[tuple[bytes, int, str, str], ...] = (
    (b"\xff\xd8\xff", 0, "image/jpeg", "JPEG"),
    (b"\x89PNG\r\n\x1a\n", 0, "image/png", "PNG"),
    (b"WEBP", 8, "image/webp", "WEBP"),
)
_GPS_IFD = 0x8825


class PhotoError(ValueError):
    """A photo that cannot be accepted, with the reason to show the client."""


@dataclass(frozen=True)
class CheckedPhoto:
    content_type: str
    data: bytes
    """The re-encoded copy, free of EXIF and other metadata."""
    width: int
    height: int
    sha256: str
    gps: tuple[float, float] | None
    """(lat, lon) from the original's EXIF, if it had them."""


def _sniff(data: bytes) -> tuple[str, str]:
    for magic, offset, content_type, pil_format in _MAGIC:
        if data[offset : offset + len(magic)] == magic and (
            pil_format != "WEBP" or data[:4] == b"RIFF"
        ):
            return content_type, pil_format
    raise PhotoError("not a JPEG, PNG or WebP image")


def _degrees(value: Any) -> float:
    degrees, minutes, seconds = (float(part) for part in value)
    return degrees + minutes / 60 + seconds / 3600


def _gps(image: Image.Image) -> tuple[float, float] | None:
    try:
        gps = image.getexif().get_ifd(_GPS_IFD)
        lat = _degrees(gps[2]) * (-1 if gps.get(1) == "S" else 1)
        lon = _degrees(gps[4]) * (-1 if gps.get(3) == "W" else 1)
    except (KeyError, TypeError, ValueError, ZeroDivisionError):
        return None
    if -90 <= lat <= 90 and -180 <= lon <= 180:
        return round(lat, 7), round(lon, 7)
    return None


def _fitted(size: tuple[int, int], side: int) -> tuple[int, int]:
    """`size` scaled down to fit a `side` × `side` square (never up)."""
    scale = min(1.0, side / max(size))
    return max(1, round(size[0] * scale)), max(1, round(size[1] * scale))


def _bytes_per_pixel(mode: str) -> int:
    """Pillow's storage: one byte for single-band 8-bit modes, two for 16-bit grey, four
    for the rest (several bands are stored as 32-bit pixels)."""
    if mode in ("1", "L", "P"):
        return 1
    return 2 if mode.startswith("I;16") else 4


def _decode_bytes(image: Image.Image, declared_pixels: int) -> int:
    """Memory a check of `image` (after `draft`) takes, as measured: its decoded pixels
    twice (scaling makes a copy), three times with alpha (scaling premultiplies it into
    another copy); libwebp's own buffers, about 12 bytes a pixel; and for a progressive
    JPEG the DCT coefficients libjpeg keeps for the whole declared image (2 bytes per
    sample, whatever the draft scale)."""
    pixels = image.width * image.height
    copies = 3 if image.mode in ("LA", "RGBA", "PA") else 2
    needed = copies * pixels * _bytes_per_pixel(image.mode)
    if image.format == "WEBP":
        needed += 12 * pixels
    if isinstance(image, JpegImageFile) and image.info.get("progressive"):
        widest = max(h * v for _, h, v, _ in image.layer)
        samples = sum(h * v for _, h, v, _ in image.layer) / widest
        needed += math.ceil(2 * samples * declared_pixels)
    return needed


def check_photo(
    data: bytes,
    *,
    max_bytes: int = MAX_PHOTO_BYTES,
    max_pixels: int = MAX_PIXELS,
    budget_bytes: int = DECODE_BUDGET_BYTES,
) -> CheckedPhoto:
    """Validates a photo and returns its metadata-free copy; raises PhotoError. Blocking
    (run it in a thread: `checked_photo` does, a bounded number at once)."""
    if len(data) > max_bytes:
        raise PhotoError(f"larger than {max_bytes // (1024 * 1024)} MB")
    content_type, pil_format = _sniff(data)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=[pil_format]) as probe:
                if probe.width * probe.height > max_pixels:
                    raise PhotoError(f"more than {max_pixels} pixels")
                probe.verify()
            with Image.open(io.BytesIO(data), formats=[pil_format]) as image:
                declared = image.width, image.height
                fitted = _fitted(declared, MAX_SIDE)
                image.draft(None, fitted)
                needed = _decode_bytes(image, declared[0] * declared[1])
                if needed > budget_bytes:
                    raise PhotoError(
                        f"{declared[0]}×{declared[1]} pixels need about {needed >> 20} MB to "
                        f"check, more than {budget_bytes >> 20} MB: send a smaller photo"
                    )
                gps = _gps(image)
                image.thumbnail(fitted, reducing_gap=None)
                ImageOps.exif_transpose(image, in_place=True)
                output = io.BytesIO()
                if pil_format == "JPEG":
                    upright = image if image.mode in ("RGB", "L") else image.convert("RGB")
                    upright.save(output, "JPEG", quality=90, optimize=True)
                elif pil_format == "PNG":
                    image.save(output, "PNG", optimize=True)
                else:
                    image.save(output, "WEBP", quality=90)
                width, height = image.size
    except PhotoError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        raise PhotoError("image dimensions are too large (decompression bomb guard)") from error
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as error:
        raise PhotoError(f"image does not decode: {error}") from error
    cleaned = output.getvalue()
    return CheckedPhoto(
        content_type, cleaned, width, height, hashlib.sha256(cleaned).hexdigest(), gps
    )


_decode_slots: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = (
    weakref.WeakKeyDictionary()
)


async def checked_photo(data: bytes, *, max_bytes: int = MAX_PHOTO_BYTES) -> CheckedPhoto:
    """`check_photo` in a thread, at most DECODES_AT_ONCE at a time in this process."""
    loop = asyncio.get_running_loop()
    slots = _decode_slots.setdefault(loop, asyncio.Semaphore(DECODES_AT_ONCE))
    async with slots:
        return await asyncio.to_thread(check_photo, data, max_bytes=max_bytes)


@dataclass(frozen=True)
class StoredPhoto:
    photo_id: str
    content_type: str
    size: int
    sha256: str
    owner: str

    def ref(self, public_base_url: str) -> PhotoRef:
        """How events point at this photo: an absolute URL on the service that stores it."""
        return PhotoRef(
            photo_id=self.photo_id,
            url=f"{public_base_url.rstrip('/')}/v1/photos/{self.photo_id}",
            content_type=self.content_type,
            size=self.size,
            sha256=self.sha256,
        )


class PhotoStore:
    """Photos in two collections: `photos` (metadata) and `photo_chunks` (255 KB chunks)."""

    def __init__(self, database: MongoDatabase) -> None:
        self.photos = database["photos"]
        self.chunks = database["photo_chunks"]

    async def create_indexes(self) -> None:
        await self.chunks.create_index([("photo_id", ASCENDING), ("n", ASCENDING)], unique=True)

    async def save(
        self, photo: CheckedPhoto, *, owner: str, photo_id: str | None = None
    ) -> StoredPhoto:
        """Stores chunks first, metadata last: a photo is visible only once complete.
        Saving the same `photo_id` again is harmless (retries)."""
        photo_id = photo_id or uuid.uuid4().hex
        for n, start in enumerate(range(0, len(photo.data), CHUNK_BYTES)):
            await self.chunks.replace_one(
                {"photo_id": photo_id, "n": n},
                {
                    "photo_id": photo_id,
                    "n": n,
                    "data": Binary(photo.data[start : start + CHUNK_BYTES]),
                },
                upsert=True,
            )
        stored = StoredPhoto(photo_id, photo.content_type, len(photo.data), photo.sha256, owner)
        await self.photos.replace_one(
            {"_id": photo_id},
            {
                "_id": photo_id,
                "content_type": photo.content_type,
                "size": stored.size,
                "sha256": photo.sha256,
                "owner": owner,
                "width": photo.width,
                "height": photo.height,
                "stored_at": datetime.now(UTC),
            },
            upsert=True,
        )
        return stored

    async def metadata(self, photo_id: str) -> StoredPhoto | None:
        document = await self.photos.find_one({"_id": photo_id})
        if document is None:
            return None
        return StoredPhoto(
            photo_id,
            document["content_type"],
            document["size"],
            document["sha256"],
            document["owner"],
        )

    async def load(self, photo_id: str) -> tuple[StoredPhoto, bytes] | None:
        """The photo's metadata and bytes, or None if there is no such complete photo."""
        stored = await self.metadata(photo_id)
        if stored is None:
            return None
        chunks = await self.chunks.find({"photo_id": photo_id}).sort("n", ASCENDING).to_list(None)
        data = b"".join(bytes(chunk["data"]) for chunk in chunks)
        if len(data) != stored.size:
            return None
        return stored, data
