// "My reports": each report's status, timeline, before and after photos, and the
// volunteer's confirmation with a rating once the case is resolved.
import { useEffect, useState } from "preact/hooks";
import { get, imageUrl, post, type Report, type Service } from "../api";
import { eventName, lang, named, statusName, t, when } from "../i18n";
import { useSignal } from "../signal";
import { Field, Loading, Page, useLoad } from "../ui";
import { categories } from "./report";

interface PublicCase {
  case_id: string;
  status: string | null;
  version: number;
  allowed_actions: string[];
  timeline: { event_type: string; occurred_at: string; note: string | null; photos: string[] }[] | null;
}

export function MyReports({ caseId }: { caseId: string | null }) {
  useSignal(lang);
  return caseId ? <ReportPage caseId={caseId} /> : <ReportList />;
}

function ReportList() {
  const { data, error } = useLoad(
    () => Promise.all([get<{ items: Report[] }>("intake", "/v1/reports?page_size=50"), categories()]),
    [],
    true,
  );
  return (
    <Page title={t("nav.mine")}>
      {!data ? (
        <Loading error={error} />
      ) : data[0].items.length === 0 ? (
        <p>{t("mine.empty")}</p>
      ) : (
        <ul class="cards">
          {data[0].items.map((report) => (
            <li>
              <a href={`#/mine/${report.case_id}`}>
                <strong>{named(data[1].find((c) => c.code === report.category), report.category ?? "")}</strong>
                <span class={`status status-${report.status}`}>{statusName(report.status)}</span>
                <span class="secondary">
                  {report.case_id} · {when(report.reported_at)}
                </span>
                <span>{report.description}</span>
              </a>
            </li>
          ))}
        </ul>
      )}
    </Page>
  );
}

export function Photo({ service, id, alt }: { service: Service; id: string; alt: string }) {
  const [src, setSrc] = useState<string | null>(null);
  useEffect(() => {
    let made: string | null = null;
    imageUrl(service, `/v1/photos/${encodeURIComponent(id)}`).then((url) => setSrc((made = url)), () => setSrc(null));
    return () => made && URL.revokeObjectURL(made);
  }, [id]);
  return src ? <img class="photo" src={src} alt={alt} /> : <span class="photo placeholder">{alt}</span>;
}

function ReportPage({ caseId }: { caseId: string }) {
  const { data, error, reload } = useLoad(
    () =>
      Promise.all([
        get<Report>("intake", `/v1/reports/${encodeURIComponent(caseId)}`),
        get<PublicCase>("remediation", `/v1/cases/${encodeURIComponent(caseId)}`).catch(() => null),
      ]),
    [caseId],
    true,
  );
  if (!data) return <Page title={caseId}>{<Loading error={error} />}</Page>;
  const [report, tracked] = data;
  const after = (tracked?.timeline ?? []).flatMap((entry) => entry.photos ?? []);
  const timeline = tracked?.timeline ?? report.timeline.map((e) => ({ event_type: e.event, occurred_at: e.at, note: e.note, photos: [] }));
  return (
    <Page title={`${t("case")} ${report.case_id}`}>
      <p>
        {t("status")}: <span class={`status status-${tracked?.status ?? report.status}`}>{statusName(tracked?.status ?? report.status)}</span>
      </p>
      <p>{report.description}</p>
      <div class="before-after">
        <figure>
          <figcaption>{t("before")}</figcaption>
          {report.photos.map((photo, index) => (
            <Photo service="intake" id={photo.photo_id} alt={`${t("before")} ${index + 1}`} />
          ))}
        </figure>
        {after.length > 0 && (
          <figure>
            <figcaption>{t("after")}</figcaption>
            {after.map((id, index) => (
              <Photo service="remediation" id={id} alt={`${t("after")} ${index + 1}`} />
            ))}
          </figure>
        )}
      </div>
      <h2>{t("timeline")}</h2>
      <ol class="timeline">
        {timeline.map((entry) => (
          <li>
            <time dateTime={entry.occurred_at}>{when(entry.occurred_at)}</time> {eventName(entry.event_type)}
            {entry.note && <span class="note"> — {entry.note}</span>}
          </li>
        ))}
      </ol>
      {tracked?.allowed_actions.includes("confirm") && <Confirm caseId={caseId} version={tracked.version} done={reload} />}
    </Page>
  );
}

function Confirm({ caseId, version, done }: { caseId: string; version: number; done: () => void }) {
  const [satisfied, setSatisfied] = useState(true);
  const [rating, setRating] = useState(5);
  const [comment, setComment] = useState("");
  const [message, setMessage] = useState<string | null>(null);
  return (
    <form
      class="confirm"
      onSubmit={(event) => {
        event.preventDefault();
        post("remediation", `/v1/cases/${encodeURIComponent(caseId)}/confirm`, {
          satisfied,
          rating,
          ...(comment.trim() ? { comment: comment.trim() } : {}),
        }, { "If-Match": `"${version}"` }).then(
          () => (setMessage(t("thanks")), done()),
          (error: Error) => setMessage(error.message),
        );
      }}
    >
      <h2>{t("confirm")}</h2>
      <fieldset>
        <legend>{t("confirm")}</legend>
        <label>
          <input type="radio" name="satisfied" checked={satisfied} onChange={() => setSatisfied(true)} /> {t("satisfied")}
        </label>
        <label>
          <input type="radio" name="satisfied" checked={!satisfied} onChange={() => setSatisfied(false)} /> {t("notSatisfied")}
        </label>
      </fieldset>
      <Field label={`${t("rating")} (1–5)`}>
        <input type="number" min={1} max={5} value={rating} onInput={(e) => setRating(Number(e.currentTarget.value))} />
      </Field>
      <Field label={t("comment")}>
        <textarea rows={2} value={comment} onInput={(e) => setComment(e.currentTarget.value)} />
      </Field>
      <button type="submit" class="primary">
        {t("confirm")}
      </button>
      {message && <p role="status">{message}</p>}
    </form>
  );
}
