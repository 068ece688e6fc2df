// The department's queue, sorted by the current stage's SLA due time; overdue and due-soon
// cases marked; filters for status, category, district and severity; find by case id.
import { useState } from "preact/hooks";
import { get, type Case, type CasePage } from "../api";
import { lang, named, SEVERITIES, severityName, STATUSES, statusName, t, when } from "../i18n";
import { go } from "../route";
import { useSignal } from "../signal";
import { Field, Loading, Page, Table, useLoad } from "../ui";
import { categories } from "../volunteer/report";

const OPEN = ["assigned", "accepted", "in_remediation", "reopened", "resolved"];
const DUE_SOON_MS = 24 * 3600 * 1000;
const DISTRICTS = Array.from({ length: 12 }, (_, i) => `D${String(i + 1).padStart(2, "0")}`);

/** When the case's current stage is due (the earliest due stage still ahead of it). */
export function dueOf(item: Case): string | null {
  const dates = Object.values(item.due ?? {}).sort();
  return dates[0] ?? null;
}

export function urgency(item: Case, now = Date.now()): "overdue" | "due-soon" | null {
  if (item.flags.overdue) return "overdue";
  const due = dueOf(item);
  if (due && Date.parse(due) - now < DUE_SOON_MS) return "due-soon";
  return null;
}

export function Queue() {
  useSignal(lang);
  const [filters, setFilters] = useState({ status: "", category: "", district: "", severity: "" });
  const [search, setSearch] = useState("");
  const query = new URLSearchParams({ limit: "200" });
  for (const status of filters.status ? [filters.status] : OPEN) query.append("status", status);
  if (filters.category) query.set("category", filters.category);
  if (filters.district) query.set("district", filters.district);
  const { data, error } = useLoad(
    () => Promise.all([get<CasePage>("remediation", `/v1/cases?${query}`), categories()]),
    [query.toString()],
    true,
  );
  const items = (data?.[0].items ?? [])
    .filter((item) => !filters.severity || item.severity === filters.severity)
    .sort((a, b) => (dueOf(a) ?? "9").localeCompare(dueOf(b) ?? "9"));
  const set = (part: Partial<typeof filters>) => setFilters((current) => ({ ...current, ...part }));
  return (
    <Page title={t("nav.queue")}>
      <form
        class="search"
        role="search"
        onSubmit={(event) => {
          event.preventDefault();
          if (search.trim()) go(`case/${search.trim().toUpperCase()}`);
        }}
      >
        <Field label={t("search")}>
          <input type="search" value={search} onInput={(e) => setSearch(e.currentTarget.value)} placeholder="GC-…" />
        </Field>
        <button type="submit">{t("find")}</button>
      </form>
      <div class="filters">
        <Filter label={t("status")} value={filters.status} codes={STATUSES} name={statusName} choose={(status) => set({ status })} />
        <Filter
          label={t("category")}
          value={filters.category}
          codes={(data?.[1] ?? []).map((category) => category.code)}
          name={(code) => named(data?.[1].find((category) => category.code === code), code)}
          choose={(category) => set({ category })}
        />
        <Filter label={t("district")} value={filters.district} codes={DISTRICTS} name={(code) => code} choose={(district) => set({ district })} />
        <Filter label={t("severity")} value={filters.severity} codes={SEVERITIES} name={severityName} choose={(severity) => set({ severity })} />
      </div>
      {!data ? <Loading error={error} /> : <CaseTable items={items} categories={data[1]} />}
    </Page>
  );
}

/** A filter's choice of codes, or all of them (the empty value). */
function Filter(props: { label: string; value: string; codes: string[]; name: (code: string) => string; choose: (code: string) => void }) {
  return (
    <Field label={props.label}>
      <select value={props.value} onChange={(e) => props.choose(e.currentTarget.value)}>
        <option value="">{t("all")}</option>
        {props.codes.map((code) => (
          <option value={code}>{props.name(code)}</option>
        ))}
      </select>
    </Field>
  );
}

export function CaseTable({ items, categories }: { items: Case[]; categories: { code: string; name_zh: string; name_en: string }[] }) {
  if (!items.length) return <p>{t("none")}</p>;
  return (
    <Table head={[t("case"), t("category"), t("district"), t("severity"), t("status"), t("due")]}>
      {items.map((item) => {
        const flag = urgency(item);
        return (
          <tr class={flag ?? ""} data-case={item.case_id}>
            <td>
              <a href={`#/case/${item.case_id}`}>{item.case_id}</a>
            </td>
            <td>{named(categories.find((c) => c.code === item.category), item.category ?? "")}</td>
            <td>{item.district}</td>
            <td>{severityName(item.severity)}</td>
            <td>{statusName(item.status)}</td>
            <td>
              {when(dueOf(item))}
              {flag && <span class={`badge ${flag}`}>{flag === "overdue" ? t("overdue") : t("dueSoon")}</span>}
            </td>
          </tr>
        );
      })}
    </Table>
  );
}
