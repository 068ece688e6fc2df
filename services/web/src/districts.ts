// The city's districts from our own API, and which one a point lies in. Apart from the
// maps (map.ts, which brings Leaflet), so the first pages load without Leaflet.
import { config } from "./config";
import type { Point } from "./photo";

export const CITY_CENTRE: Point = { lat: 26.89, lon: 112.57 };

export interface District {
  code: string;
  name_zh: string;
  name_en: string;
  rings: number[][][];
  feature: GeoJSON.Feature;
}

let boundaries: Promise<District[]> | null = null;

/** The districts of the city's boundary file (empty when it cannot be had). */
export function districts(): Promise<District[]> {
  boundaries ??= fetch(config.boundariesUrl)
    .then((response) => (response.ok ? (response.json() as Promise<GeoJSON.FeatureCollection>) : null))
    .then((collection) =>
      (collection?.features ?? [])
        .filter((feature) => (feature.properties?.level ?? "district") === "district")
        .map((feature) => ({
          code: String(feature.properties?.code),
          name_zh: String(feature.properties?.name_zh ?? feature.properties?.code),
          name_en: String(feature.properties?.name_en ?? feature.properties?.code),
          rings: polygonsOf(feature.geometry).flat(),
          feature,
        })),
    )
    .catch(() => []);
  return boundaries;
}

function polygonsOf(geometry: GeoJSON.Geometry): number[][][][] {
  if (geometry.type === "Polygon") return [geometry.coordinates];
  if (geometry.type === "MultiPolygon") return geometry.coordinates;
  return [];
}

function inside(point: Point, ring: number[][]): boolean {
  let crossings = false;
  for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
    const [xi, yi] = ring[i] as [number, number];
    const [xj, yj] = ring[j] as [number, number];
    if (yi > point.lat !== yj > point.lat && point.lon < ((xj - xi) * (point.lat - yi)) / (yj - yi) + xi) {
      crossings = !crossings;
    }
  }
  return crossings;
}

export function districtAt(point: Point, all: District[]): District | null {
  return all.find((district) => district.rings.some((ring) => inside(point, ring))) ?? null;
}
