// The report's second step: the point, by GPS or a pin dragged on the map. Its own chunk,
// loaded when the step opens, because it brings Leaflet.
import { useEffect, useRef, useState } from "preact/hooks";
import { CITY_CENTRE, districtAt, districts, type District } from "../districts";
import { lang, named, t } from "../i18n";
import { cityMap, draggablePin, type L } from "../map";
import type { Point } from "../photo";
import { Field } from "../ui";
import type { Form } from "./report";

export function PointStep({ form, change, onBack, onNext }: { form: Form; change: (part: Partial<Form>) => void; onBack: () => void; onNext: () => void }) {
  const element = useRef<HTMLDivElement>(null);
  const marker = useRef<L.Marker | null>(null);
  const map = useRef<L.Map | null>(null);
  const [all, setAll] = useState<District[]>([]);
  const [locating, setLocating] = useState(false);

  const known = useRef<District[]>([]);

  function place(point: Point): void {
    const district = districtAt(point, known.current);
    change({ point, district: district?.code ?? "" });
    marker.current?.setLatLng([point.lat, point.lon]);
  }

  useEffect(() => {
    const start = form.point ?? CITY_CENTRE;
    map.current = cityMap(element.current!, t("map"));
    marker.current = draggablePin(map.current, start, t("pinHint"), (point) => place(point));
    map.current.setView([start.lat, start.lon], form.point ? 15 : 11);
    change({ point: start });
    void districts().then((list) => {
      known.current = list;
      setAll(list);
      place(start);
    });
    return () => map.current?.remove();
  }, []);

  function locate(): void {
    setLocating(true);
    navigator.geolocation.getCurrentPosition(
      (position) => {
        setLocating(false);
        const point = { lat: position.coords.latitude, lon: position.coords.longitude };
        place(point);
        map.current?.setView([point.lat, point.lon], 16);
      },
      () => setLocating(false),
      { enableHighAccuracy: true, timeout: 15_000 },
    );
  }

  function pinToCentre(): void {
    const centre = map.current!.getCenter();
    place({ lat: centre.lat, lon: centre.lng });
  }

  const districtCodes = all.length ? all : Array.from({ length: 12 }, (_, i) => ({ code: `D${String(i + 1).padStart(2, "0")}`, name_zh: "", name_en: "" }));
  return (
    <form
      onSubmit={(event) => {
        event.preventDefault();
        onNext();
      }}
    >
      <p id="pin-hint">{t("pinHint")}</p>
      <div ref={element} class="map" aria-describedby="pin-hint" />
      <div class="actions">
        <button type="button" onClick={locate} disabled={locating}>
          {locating ? t("locating") : t("locate")}
        </button>
        <button type="button" onClick={pinToCentre}>
          {lang.get() === "zh" ? "图钉移到地图中心" : "Pin to the map centre"}
        </button>
      </div>
      <p class="coords" aria-live="polite">
        {form.point ? `${form.point.lat.toFixed(5)}, ${form.point.lon.toFixed(5)}` : ""}
      </p>
      <Field label={t("district")}>
        <select value={form.district} onChange={(e) => change({ district: e.currentTarget.value })}>
          <option value="">{t("districtFromPoint")}</option>
          {districtCodes.map((district) => (
            <option value={district.code}>{district.name_zh ? `${district.code} ${named(district, district.code)}` : district.code}</option>
          ))}
        </select>
      </Field>
      <Field label={t("address")}>
        <input type="text" maxLength={500} value={form.address} onInput={(e) => change({ address: e.currentTarget.value })} />
      </Field>
      <div class="actions">
        <button type="button" onClick={onBack}>
          {t("back")}
        </button>
        <button type="submit" class="primary">
          {t("next")}
        </button>
      </div>
    </form>
  );
}
