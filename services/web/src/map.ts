// Maps with Leaflet and no outside tile server: the city's district boundaries come from
// our own API; a tile layer is drawn only when the deployment names one (config.tileUrl).
import L from "leaflet";
import "leaflet/dist/leaflet.css";
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

const PIN = L.divIcon({
  className: "pin",
  html: '<svg viewBox="0 0 24 36" width="32" height="48" aria-hidden="true"><path d="M12 0C5.4 0 0 5.4 0 12c0 9 12 24 12 24s12-15 12-24C24 5.4 18.6 0 12 0z" fill="#c62828"/><circle cx="12" cy="12" r="5" fill="#fff"/></svg>',
  iconSize: [32, 48],
  iconAnchor: [16, 48],
});

/** A map in `element` with the district boundaries drawn. */
export function cityMap(element: HTMLElement, label: string): L.Map {
  const map = L.map(element, { zoomSnap: 0.5, attributionControl: Boolean(config.tileUrl) });
  map.getContainer().setAttribute("aria-label", label);
  map.getContainer().setAttribute("role", "region");
  if (config.tileUrl) {
    L.tileLayer(config.tileUrl, { attribution: config.tileAttribution, maxZoom: 19 }).addTo(map);
  }
  map.setView([CITY_CENTRE.lat, CITY_CENTRE.lon], 11);
  void districts().then((all) => {
    if (!all.length) return;
    const layer = L.geoJSON(
      all.map((district) => district.feature),
      { style: { color: "#1f4e79", weight: 1.5, fillOpacity: 0.05 }, interactive: false },
    ).addTo(map);
    layer.eachLayer((shape) => {
      const feature = (shape as L.Polygon).feature as GeoJSON.Feature;
      (shape as L.Polygon).bindTooltip(String(feature.properties?.code ?? ""), {
        permanent: true,
        direction: "center",
        className: "district-label",
      });
    });
  });
  return map;
}

/** A draggable pin; `moved` hears each new position (also for keyboard moves). */
export function draggablePin(map: L.Map, at: Point, label: string, moved: (point: Point) => void): L.Marker {
  const marker = L.marker([at.lat, at.lon], { draggable: true, icon: PIN, keyboard: true, title: label, alt: label });
  marker.addTo(map);
  marker.on("dragend", () => {
    const { lat, lng } = marker.getLatLng();
    moved({ lat, lon: lng });
  });
  return marker;
}

export { L };
