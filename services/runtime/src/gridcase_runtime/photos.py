"""Photos attached to reports and to evidence: checked, stripped of metadata, stored in
MongoDB in chunks (no GridFS: the Mongo-wire server used locally does not support it).

Only JPEG, PNG and WebP are accepted: the magic bytes must say so and the image must
decode within a pixel budget (a decompression-bomb guard). The stored copy is re-encoded
without EXIF or other metadata, after applying the EXIF orientation; GPS coordinates from
the original EXIF are returned so a report without coordinates can use them.
"""

import hashlib
import io
import uuid
import warnings
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from bson import Binary
from PIL import Image, ImageOps, UnidentifiedImageError
from pymongo import ASCENDING

from gridcase_contracts.events import PhotoRef
from gridcase_runtime.mongo import MongoDatabase

MAX_PHOTO_BYTES = 10 * 1024 * 1024
MAX_PIXELS = 40_000_000
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


def check_photo(
    data: bytes, *, max_bytes: int = MAX_PHOTO_BYTES, max_pixels: int = MAX_PIXELS
) -> CheckedPhoto:
    """Validates a photo and returns its metadata-free copy; raises PhotoError."""
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
                image.load()
                gps = _gps(image)
                upright = ImageOps.exif_transpose(image)
                output = io.BytesIO()
                if pil_format == "JPEG":
                    upright.convert("RGB").save(output, "JPEG", quality=90, optimize=True)
                elif pil_format == "PNG":
                    upright.save(output, "PNG", optimize=True)
                else:
                    upright.save(output, "WEBP", quality=90)
    except PhotoError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        raise PhotoError("image dimensions are too large (decompression bomb guard)") from error
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as error:
        raise PhotoError(f"image does not decode: {error}") from error
    cleaned = output.getvalue()
    return CheckedPhoto(
        content_type,
        cleaned,
        upright.width,
        upright.height,
        hashlib.sha256(cleaned).hexdigest(),
        gps,
    )


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
