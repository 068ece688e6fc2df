// Photos are resized in the browser before they travel: at most 2,048 px on the long side,
// turned upright by their EXIF orientation, re-encoded as JPEG (which also drops EXIF).

export const MAX_EDGE = 2048;

export async function resizePhoto(file: Blob): Promise<Blob> {
  const bitmap = await createImageBitmap(file, { imageOrientation: "from-image" });
  const scale = Math.min(1, MAX_EDGE / Math.max(bitmap.width, bitmap.height));
  const width = Math.round(bitmap.width * scale);
  const height = Math.round(bitmap.height * scale);
  const canvas = document.createElement("canvas");
  canvas.width = width;
  canvas.height = height;
  const context = canvas.getContext("2d");
  if (!context) throw new Error("no 2D canvas");
  context.drawImage(bitmap, 0, 0, width, height);
  bitmap.close();
  return new Promise((resolve, reject) =>
    canvas.toBlob((blob) => (blob ? resolve(blob) : reject(new Error("encoding failed"))), "image/jpeg", 0.85),
  );
}

export interface Point {
  lat: number;
  lon: number;
}

/** The GPS position in a JPEG's EXIF, if it has one. */
export async function exifPoint(file: Blob): Promise<Point | null> {
  const view = new DataView(await file.slice(0, 256 * 1024).arrayBuffer());
  if (view.byteLength < 4 || view.getUint16(0) !== 0xffd8) return null;
  let offset = 2;
  while (offset + 4 <= view.byteLength) {
    const marker = view.getUint16(offset);
    const length = view.getUint16(offset + 2);
    if (marker === 0xffe1 && view.getUint32(offset + 4) === 0x45786966) {
      return gpsOfTiff(view, offset + 10);
    }
    if ((marker & 0xff00) !== 0xff00 || marker === 0xffda) return null;
    offset += 2 + length;
  }
  return null;
}

function gpsOfTiff(view: DataView, tiff: number): Point | null {
  const little = view.getUint16(tiff) === 0x4949;
  const u16 = (at: number): number => view.getUint16(at, little);
  const u32 = (at: number): number => view.getUint32(at, little);
  const entries = (ifd: number): Map<number, number> => {
    const found = new Map<number, number>();
    const count = u16(ifd);
    for (let i = 0; i < count; i++) found.set(u16(ifd + 2 + i * 12), ifd + 2 + i * 12);
    return found;
  };
  const ifd0 = entries(tiff + u32(tiff + 4));
  const gpsPointer = ifd0.get(0x8825);
  if (gpsPointer === undefined) return null;
  const gps = entries(tiff + u32(gpsPointer + 8));
  const ref = (tag: number): string => {
    const entry = gps.get(tag);
    return entry === undefined ? "" : String.fromCharCode(view.getUint8(entry + 8));
  };
  const degrees = (tag: number): number | null => {
    const entry = gps.get(tag);
    if (entry === undefined) return null;
    const values = tiff + u32(entry + 8);
    const rational = (i: number): number => u32(values + i * 8) / u32(values + i * 8 + 4);
    return rational(0) + rational(1) / 60 + rational(2) / 3600;
  };
  const lat = degrees(2);
  const lon = degrees(4);
  if (lat === null || lon === null || !Number.isFinite(lat) || !Number.isFinite(lon)) return null;
  return { lat: ref(1) === "S" ? -lat : lat, lon: ref(3) === "W" ? -lon : lon };
}
