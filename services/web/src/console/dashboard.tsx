// Leadership: found / resolved and the three rates for a period, by district, department
// and team; the period report in the seed's sentence form; found vs resolved over time;
// open cases by district on the map; CSV downloads. Refreshes while it is open.
import { useEffect, useRef, useState } from "preact/hooks";
import { get, request } from "../api";
import { lang, t, type Key } from "../i18n";
import { districts } from "../districts";
import { cityMap, L } from "../map";
import { useSignal } from "../signal";
import { Field, Loading, Page, Table, useLoad } from "../ui";

interface Summary {
  found: number;
  resolved: number;
  open: number;
  overdue_open: number;
  resolution_rate: number | null;
  on_time_rate: number | null;
  reopen_rate: number | null;
  satisfaction_rate: number | null;
}

interface Row {
  [dimension: string]: string | number | null;
  found: number;
  resolved: number;
  resolution_rate: number | null;
  on_time_rate: number | null;
}

interface Point {
  period: string;
  value: number;
}

const percent = (value: number | null): string => (value === null ? "—" : `${(value * 100).toFixed(1)}%`);

/** Today in the city's time zone, as YYYY-MM-DD. */
function cityToday(): string {
  return new Intl.DateTimeFormat("en-CA", { timeZone: "Asia/Shanghai" }).format(new Date());
}

export function Dashboard() {
  useSignal(lang);
  const [from, setFrom] = useState(`${cityToday().slice(0, 8)}01`);
  const [to, setTo] = useState(cityToday());
  const window = `from=${from}&to=${to}`;
  const { data, error } = useLoad(
    () =>
      Promise.all([
        get<Summary>("statistics", `/v1/stats/summary?${window}`),
        get<{ text_zh: string; text_en: string }>("statistics", `/v1/stats/report?${window}`),
        get<{ points: Point[] }>("statistics", `/v1/stats/timeseries?${window}&metric=found`),
        get<{ points: Point[] }>("statistics", `/v1/stats/timeseries?${window}&metric=resolved`),
        get<{ rows: { district: string; open: number }[] }>("statistics", `/v1/stats/export/open?${window}&format=json`),
      ]),
    [window],
    true,
  );
  return (
    <Page title={t("nav.dashboard")}>
      <form class="filters" onSubmit={(event) => event.preventDefault()}>
        <Field label={t("from")}>
          <input type="date" value={from} onChange={(e) => setFrom(e.currentTarget.value)} />
        </Field>
        <Field label={t("to")}>
          <input type="date" value={to} onChange={(e) => setTo(e.currentTarget.value)} />
        </Field>
      </form>
      {!data ? (
        <Loading error={error} />
      ) : (
        <>
          <dl class="figures" data-testid="figures">
            {(
              [
                ["found", data[0].found],
                ["resolved", data[0].resolved],
                ["resolutionRate", percent(data[0].resolution_rate)],
                ["onTimeRate", percent(data[0].on_time_rate)],
                ["reopenRate", percent(data[0].reopen_rate)],
                ["satisfactionRate", percent(data[0].satisfaction_rate)],
              ] as [Key, string | number][]
            ).map(([key, value]) => (
              <div data-figure={key}>
                <dt>{t(key)}</dt>
                <dd>{value}</dd>
              </div>
            ))}
          </dl>
          <ReportText zh={data[1].text_zh} en={data[1].text_en} />
          <h2>{t("foundVsResolved")}</h2>
          <Chart found={data[2].points} resolved={data[3].points} />
          <h2>{t("openByDistrict")}</h2>
          <OpenMap rows={data[4].rows} />
          <Board by="district" title="byDistrict" window={window} />
          <Board by="department" title="byDepartment" window={window} />
          <Board by="team" title="byTeam" window={window} />
          <h2>{t("download")}</h2>
          <ul class="downloads">
            {["counts", "open", "backlog", "on_time", "durations", "participation", "leaderboard"].map((table) => (
              <li>
                <button type="button" class="link" onClick={() => void download(table, window)}>
                  {table}.csv
                </button>
              </li>
            ))}
          </ul>
        </>
      )}
    </Page>
  );
}

async function download(table: string, window: string): Promise<void> {
  const blob = await (await request("statistics", `/v1/stats/export/${table}?${window}`)).blob();
  const link = document.createElement("a");
  link.href = URL.createObjectURL(blob);
  link.download = `${table}.csv`;
  link.click();
  URL.revokeObjectURL(link.href);
}

function ReportText({ zh, en }: { zh: string; en: string }) {
  const [copied, setCopied] = useState<string | null>(null);
  return (
    <section aria-labelledby="report-title">
      <h2 id="report-title">{t("report")}</h2>
      {(
        [
          ["zh-CN", zh],
          ["en", en],
        ] as const
      ).map(([code, text]) => (
        <p class="report">
          <span lang={code} data-testid={`report-${code}`}>
            {text}
          </span>{" "}
          <button type="button" onClick={() => void navigator.clipboard.writeText(text).then(() => setCopied(code))}>
            {t("copy")} ({code === "en" ? "English" : "中文"})
          </button>
          {copied === code && <span role="status"> {t("copied")}</span>}
        </p>
      ))}
    </section>
  );
}

/** Found and resolved per day as paired bars (SVG; no chart library). */
function Chart({ found, resolved }: { found: Point[]; resolved: Point[] }) {
  const periods = [...new Set([...found, ...resolved].map((point) => point.period))].sort();
  const valueOf = (points: Point[], period: string) => points.find((point) => point.period === period)?.value ?? 0;
  const max = Math.max(1, ...found.map((p) => p.value), ...resolved.map((p) => p.value));
  const width = Math.max(320, periods.length * 28 + 40);
  const height = 180;
  const scale = (value: number) => ((height - 30) * value) / max;
  return (
    <figure class="chart">
      <svg viewBox={`0 0 ${width} ${height}`} width={width} height={height} role="img" aria-label={`${t("foundVsResolved")}: ${periods.map((p) => `${p} ${valueOf(found, p)}/${valueOf(resolved, p)}`).join(", ")}`}>
        {periods.map((period, index) => {
          const x = 30 + index * 28;
          const f = scale(valueOf(found, period));
          const r = scale(valueOf(resolved, period));
          return (
            <g>
              <rect x={x} y={height - 20 - f} width={11} height={f} fill="#1f4e79" />
              <rect x={x + 12} y={height - 20 - r} width={11} height={r} fill="#2e7d32" />
              <text x={x + 11} y={height - 6} font-size="9" text-anchor="middle" fill="#222">
                {period.slice(5)}
              </text>
            </g>
          );
        })}
        <text x={4} y={12} font-size="10" fill="#222">
          {max}
        </text>
      </svg>
      <figcaption>
        <span class="key found" /> {t("found")} <span class="key resolved" /> {t("resolved")}
      </figcaption>
    </figure>
  );
}

function OpenMap({ rows }: { rows: { district: string; open: number }[] }) {
  const element = useRef<HTMLDivElement>(null);
  const byDistrict = new Map<string, number>();
  for (const row of rows) byDistrict.set(row.district, (byDistrict.get(row.district) ?? 0) + row.open);
  const key = [...byDistrict].join(";");
  useEffect(() => {
    const map = cityMap(element.current!, t("openByDistrict"));
    void districts().then((all) => {
      for (const district of all) {
        const count = byDistrict.get(district.code) ?? 0;
        L.geoJSON(district.feature, { style: { color: "#b71c1c", weight: 1, fillOpacity: Math.min(0.7, count / 20) }, interactive: false })
          .bindTooltip(`${district.code} ${count}`)
          .addTo(map);
      }
    });
    return () => map.remove();
  }, [key]);
  return (
    <>
      <div ref={element} class="map" />
      <Table head={[t("district"), "#"]} caption={t("openByDistrict")}>
        {[...byDistrict].sort().map(([district, count]) => (
          <tr>
            <td>{district}</td>
            <td>{count}</td>
          </tr>
        ))}
      </Table>
    </>
  );
}

function Board({ by, title, window }: { by: string; title: Key; window: string }) {
  const { data, error } = useLoad(() => get<{ entries: Row[] }>("statistics", `/v1/stats/leaderboard?${window}&by=${by}&limit=20`), [window, by], true);
  return (
    <section>
      <h2>{t(title)}</h2>
      {!data ? (
        <Loading error={error} />
      ) : (
        <Table head={[t(title), t("found"), t("resolved"), t("resolutionRate"), t("onTimeRate")]}>
          {data.entries.map((row) => (
            <tr>
              <td>{String(row[by] ?? "—")}</td>
              <td>{row.found}</td>
              <td>{row.resolved}</td>
              <td>{percent(row.resolution_rate)}</td>
              <td>{percent(row.on_time_rate)}</td>
            </tr>
          ))}
        </Table>
      )}
    </section>
  );
}
