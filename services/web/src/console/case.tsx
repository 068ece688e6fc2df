// One case for handlers and supervisors: map, photos, timeline and the actions the case
// allows now. Every action sends If-Match with the version read; a 409/412 shows who
// changed the case and when, and offers a reload. Nothing is ever overwritten.
import type { ComponentChildren } from "preact";
import { useEffect, useRef, useState } from "preact/hooks";
import { get, isVersionConflict, post, type Case, type CaseEvent, type Report } from "../api";
import { eventName, lang, named, MEASURES, measureName, severityName, statusName, t, when } from "../i18n";
import { cityMap, draggablePin, type L } from "../map";
import { resizePhoto } from "../photo";
import { useSignal } from "../signal";
import { Field, Loading, Page, useLoad } from "../ui";
import { Photo } from "../volunteer/mine";
import { categories } from "../volunteer/report";
import { dueOf, urgency } from "./queue";

interface Conflict {
  by: string;
  at: string;
  event: string;
}

export function CasePage({ caseId }: { caseId: string }) {
  useSignal(lang);
  const path = `/v1/cases/${encodeURIComponent(caseId)}`;
  const { data, error, reload } = useLoad(
    () => Promise.all([get<Case>("remediation", path), get<Report>("intake", `/v1/reports/${encodeURIComponent(caseId)}`).catch(() => null)]),
    [caseId],
  );
  const { data: names } = useLoad(categories, []);
  const [conflict, setConflict] = useState<Conflict | null>(null);
  const [message, setMessage] = useState<string | null>(null);
  if (!data) return <Page title={`${t("case")} ${caseId}`}>{<Loading error={error} />}</Page>;
  const [item, report] = data;

  async function act(action: string, body: Record<string, unknown> | FormData): Promise<void> {
    setMessage(null);
    try {
      await post("remediation", `${path}/${action}`, body, { "If-Match": `"${item.version}"` });
      reload();
    } catch (failure) {
      if (isVersionConflict(failure)) {
        const current = await get<Case>("remediation", path);
        const last = current.timeline?.at(-1);
        setConflict({ by: actorOf(last), at: last?.occurred_at ?? "", event: last?.event_type ?? "" });
      } else {
        setMessage((failure as Error).message);
      }
    }
  }

  const flag = urgency(item);
  return (
    <Page title={`${t("case")} ${item.case_id}`}>
      {conflict && (
        <div role="alertdialog" aria-labelledby="conflict-title" aria-describedby="conflict-body" class="conflict">
          <h2 id="conflict-title">{t("conflict.title")}</h2>
          <p id="conflict-body">
            {t("conflict.body")} {t("conflict.by")}: <strong data-testid="conflict-by">{conflict.by}</strong> ({eventName(conflict.event)}), {t("conflict.at")}:{" "}
            <time dateTime={conflict.at}>{when(conflict.at)}</time>
          </p>
          <button type="button" class="primary" ref={(button) => button?.focus()} onClick={() => (setConflict(null), reload())}>
            {t("reload")}
          </button>
        </div>
      )}
      <dl class="facts">
        <dt>{t("status")}</dt>
        <dd class={`status status-${item.status}`}>{statusName(item.status)}</dd>
        <dt>{t("category")}</dt>
        <dd>{named(names?.find((c) => c.code === item.category), item.category ?? "")}</dd>
        <dt>{t("severity")}</dt>
        <dd>{severityName(item.severity)}</dd>
        <dt>{t("district")}</dt>
        <dd>
          {item.district} {item.community ?? ""}
        </dd>
        <dt>{t("department")}</dt>
        <dd>{item.department}</dd>
        <dt>{t("due")}</dt>
        <dd>
          {when(dueOf(item))} {flag && <span class={`badge ${flag}`}>{flag === "overdue" ? t("overdue") : t("dueSoon")}</span>}
        </dd>
        {item.rectification && (
          <>
            <dt>{t("measure")}</dt>
            <dd>
              {measureName(item.rectification.measure)} · {item.rectification.responsible_party} · {when(item.rectification.deadline)}
            </dd>
          </>
        )}
      </dl>
      {report && <p class="description">{report.description}</p>}
      {report?.location?.lat !== undefined && <CaseMap lat={report.location.lat} lon={report.location.lon!} />}
      <div class="before-after">
        {report?.photos.map((photo, index) => (
          <Photo service="intake" id={photo.photo_id} alt={`${t("before")} ${index + 1}`} />
        ))}
        {(item.timeline ?? []).filter((event) => event.event_type !== "CaseReported").flatMap((event) =>
          ((event.payload.photos as { photo_id: string }[] | undefined) ?? []).map((photo) => <Photo service="remediation" id={photo.photo_id} alt={`${eventName(event.event_type)} ${when(event.occurred_at)}`} />),
        )}
      </div>
      {message && (
        <p role="alert" class="error">
          {message}
        </p>
      )}
      <Actions item={item} act={act} />
      <h2>{t("timeline")}</h2>
      <ol class="timeline">
        {(item.timeline ?? []).map((event) => (
          <li>
            <time dateTime={event.occurred_at}>{when(event.occurred_at)}</time> {eventName(event.event_type)} · {actorOf(event)}
            {noteOf(event) && <span class="note"> — {noteOf(event)}</span>}
          </li>
        ))}
      </ol>
    </Page>
  );
}

/** Who did it, as people read it: the display name recorded with the action, else the id. */
function actorOf(event: CaseEvent | undefined): string {
  const by = event?.payload.by as { actor_id?: string; name?: string | null } | undefined;
  return by?.name ?? by?.actor_id ?? event?.producer ?? "";
}

function noteOf(event: CaseEvent): string | null {
  const payload = event.payload;
  return (payload.note ?? payload.reason ?? null) as string | null;
}

function CaseMap({ lat, lon }: { lat: number; lon: number }) {
  const element = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const map: L.Map = cityMap(element.current!, t("map"));
    const pin = draggablePin(map, { lat, lon }, t("map"), () => undefined);
    pin.dragging?.disable();
    map.setView([lat, lon], 15);
    return () => map.remove();
  }, [lat, lon]);
  return <div ref={element} class="map small" />;
}

type Act = (action: string, body: Record<string, unknown> | FormData) => Promise<void>;

function Actions({ item, act }: { item: Case; act: Act }) {
  const allowed = new Set(item.allowed_actions);
  return (
    <section aria-label={t("case")} class="case-actions">
      {allowed.has("accept") && (
        <button type="button" class="primary" onClick={() => void act("accept", {})}>
          {t("accept")}
        </button>
      )}
      {allowed.has("order_rectification") && <OrderForm act={act} />}
      {allowed.has("record_progress") && <NoteForm title={t("progress")} field="note" action="progress" act={act} />}
      {allowed.has("resolve") && <ResolveForm act={act} />}
      {allowed.has("verify") && (
        <button type="button" class="primary" onClick={() => void act("verify", { passed: true })}>
          {t("verify")}
        </button>
      )}
      {allowed.has("reopen") && <NoteForm title={t("reopen")} field="reason" action="verify" extra={{ passed: false }} act={act} />}
      {allowed.has("close") && (
        <button type="button" class="primary" onClick={() => void act("close", {})}>
          {t("close")}
        </button>
      )}
      {allowed.has("return") && <NoteForm title={t("return")} field="reason" action="return" act={act} />}
      {allowed.has("reject") && <NoteForm title={t("reject")} field="reason" action="reject" act={act} />}
    </section>
  );
}

/** One action's form: its title, its fields and a button that sends it. */
function ActionForm({ title, send, ready = true, children }: { title: string; send: () => void; ready?: boolean; children: ComponentChildren }) {
  return (
    <form
      class="action"
      onSubmit={(event) => {
        event.preventDefault();
        send();
      }}
    >
      <h3>{title}</h3>
      {children}
      <button type="submit" disabled={!ready}>
        {title}
      </button>
    </form>
  );
}

function OrderForm({ act }: { act: Act }) {
  const tomorrow = new Date(Date.now() + 7 * 86400_000).toISOString().slice(0, 10);
  const [measure, setMeasure] = useState("rectification-order");
  const [deadline, setDeadline] = useState(tomorrow);
  const [party, setParty] = useState("");
  const send = () => void act("rectification-orders", { measure, deadline: `${deadline}T18:00:00+08:00`, responsible_party: party.trim() });
  return (
    <ActionForm title={t("order")} send={send}>
      <Field label={t("measure")}>
        <select value={measure} onChange={(e) => setMeasure(e.currentTarget.value)}>
          {Object.keys(MEASURES).map((code) => (
            <option value={code}>{measureName(code)}</option>
          ))}
        </select>
      </Field>
      <Field label={t("deadline")}>
        <input type="date" required value={deadline} onInput={(e) => setDeadline(e.currentTarget.value)} />
      </Field>
      <Field label={t("responsible")}>
        <input type="text" required maxLength={500} value={party} onInput={(e) => setParty(e.currentTarget.value)} />
      </Field>
    </ActionForm>
  );
}

function NoteForm({ title, field, action, act, extra = {} }: { title: string; field: string; action: string; act: Act; extra?: Record<string, unknown> }) {
  const [text, setText] = useState("");
  return (
    <ActionForm title={title} send={() => void act(action, { ...extra, [field]: text.trim() }).then(() => setText(""))}>
      <Field label={field === "note" ? t("note") : t("reason")}>
        <textarea required rows={2} value={text} onInput={(e) => setText(e.currentTarget.value)} />
      </Field>
    </ActionForm>
  );
}

function ResolveForm({ act }: { act: Act }) {
  const [note, setNote] = useState("");
  const [photo, setPhoto] = useState<Blob | null>(null);
  const send = () => {
    const form = new FormData();
    form.append("note", note.trim());
    if (photo) form.append("photos", photo, "evidence.jpg");
    void act("resolve", form);
  };
  return (
    <ActionForm title={t("resolve")} send={send} ready={photo !== null}>
      <Field label={t("note")}>
        <textarea required rows={2} value={note} onInput={(e) => setNote(e.currentTarget.value)} />
      </Field>
      <Field label={t("photos")}>
        <input type="file" name="evidence" accept="image/*" required onChange={(e) => {
          const file = e.currentTarget.files?.[0];
          if (file) void resizePhoto(file).then(setPhoto);
        }} />
      </Field>
    </ActionForm>
  );
}
