// Supervision: fixes to verify (never the supervisor's own), escalations, the queue of
// returned cases, and duplicate clusters that can be split.
import { useState } from "preact/hooks";
import { claims } from "../auth";
import { get, post, type CasePage } from "../api";
import { lang, statusName, t, when, type Key } from "../i18n";
import { useSignal } from "../signal";
import { Loading, Page, Table, useLoad } from "../ui";
import { categories } from "../volunteer/report";
import { CaseTable } from "./queue";

interface AssignmentCase {
  case_id: string;
  category: string;
  district: string;
  status: string;
  department: string | null;
  returns: number;
  priority: number;
  cluster_size: number;
  primary_case_id: string | null;
  assigned_at: string | null;
}

const TABS: [string, Key][] = [
  ["verification", "verification"],
  ["escalations", "escalations"],
  ["queue", "supervisorQueue"],
  ["duplicates", "duplicates"],
];

export function Supervise({ tab }: { tab: string }) {
  useSignal(lang);
  return (
    <Page title={t("nav.supervise")}>
      <nav aria-label={t("nav.supervise")} class="tabs">
        {TABS.map(([target, key]) => (
          <a href={`#/supervise/${target}`} aria-current={tab === target ? "page" : undefined}>
            {t(key)}
          </a>
        ))}
      </nav>
      {tab === "verification" && <Verification />}
      {tab === "escalations" && <AssignmentList path="/supervisor/escalations" />}
      {tab === "queue" && <AssignmentList path="/supervisor/queue" />}
      {tab === "duplicates" && <Duplicates />}
    </Page>
  );
}

function Verification() {
  const me = claims()?.sub;
  const { data, error } = useLoad(() => Promise.all([get<CasePage>("remediation", "/v1/cases?status=resolved&limit=200"), categories()]), [], true);
  if (!data) return <Loading error={error} />;
  return <CaseTable items={data[0].items.filter((item) => item.resolved_by !== me)} categories={data[1]} />;
}

function AssignmentList({ path }: { path: string }) {
  const { data, error } = useLoad(() => get<AssignmentCase[]>("assignment", path), [path], true);
  if (!data) return <Loading error={error} />;
  if (!data.length) return <p>{t("none")}</p>;
  return (
    <Table head={[t("case"), t("category"), t("district"), t("department"), t("status"), t("updated")]}>
      {data.map((item) => (
        <tr>
          <td>
            <a href={`#/case/${item.case_id}`}>{item.case_id}</a>
          </td>
          <td>{item.category}</td>
          <td>{item.district}</td>
          <td>{item.department ?? "—"}</td>
          <td>{statusName(item.status)}</td>
          <td>{when(item.assigned_at)}</td>
        </tr>
      ))}
    </Table>
  );
}

function Duplicates() {
  const { data, error, reload } = useLoad(() => get<CasePage>("remediation", "/v1/cases?status=duplicate&limit=200"), [], true);
  const [message, setMessage] = useState<string | null>(null);
  if (!data) return <Loading error={error} />;
  const clusters = new Map<string, string[]>();
  for (const item of data.items) {
    const primary = item.duplicate_of ?? "?";
    clusters.set(primary, [...(clusters.get(primary) ?? []), item.case_id]);
  }
  if (!clusters.size) return <p>{t("none")}</p>;
  return (
    <>
      {message && <p role="status">{message}</p>}
      <ul class="clusters">
        {[...clusters].map(([primary, members]) => (
          <li>
            <a href={`#/case/${primary}`}>{primary}</a> ({members.length + 1})
            <ul>
              {members.map((member) => (
                <li>
                  <a href={`#/case/${member}`}>{member}</a>{" "}
                  <button
                    type="button"
                    onClick={() =>
                      post("assignment", `/supervisor/cases/${encodeURIComponent(member)}/split`, { reason: "not the same hazard" }).then(
                        () => (setMessage(`${t("split")}: ${member}`), reload()),
                        (e: Error) => setMessage(e.message),
                      )
                    }
                  >
                    {t("split")} {member}
                  </button>
                </li>
              ))}
            </ul>
          </li>
        ))}
      </ul>
    </>
  );
}
