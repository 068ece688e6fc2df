// Maps with Leaflet and no outside tile server: the city's district boundaries come from
// our own API; a tile layer is drawn only when the deployment names one (config.tileUrl).
// Loaded only by the pages that draw a map.
import L from "leaflet";
import "leaflet/dist/leaflet.css";
import { config } from "./config";
import { CITY_CENTRE, districts } from "./districts";
import type { Point } from "./photo";

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
