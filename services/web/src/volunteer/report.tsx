// Filing a report in three steps: category, point, photo and description. A photo taken
// first proposes the point from its EXIF position. Every report goes through the outbox,
// so one made offline is kept and sent later.
import { lazy, Suspense } from "preact/compat";
import { useEffect, useRef, useState } from "preact/hooks";
import { get, type Category } from "../api";
import { lang, SEVERITIES, severityName, t } from "../i18n";
import { exifPoint, resizePhoto, type Point } from "../photo";
import { enqueue, send, waiting, remove, update, type Queued } from "../queue";
import { useSignal } from "../signal";
import { Field, Page, useLoad } from "../ui";
import { CategoryIcon } from "./icons";

const PointStep = lazy(() => import("./point").then((m) => ({ default: m.PointStep })));

let categoriesCache: Promise<Category[]> | null = null;
export const categories = (): Promise<Category[]> => (categoriesCache ??= get<Category[]>("intake", "/v1/categories"));

export interface Form {
  category: string;
  point: Point | null;
  district: string;
  address: string;
  severity: string;
  description: string;
  photos: Blob[];
}

const EMPTY: Form = { category: "", point: null, district: "", address: "", severity: "medium", description: "", photos: [] };

export function NewReport() {
  useSignal(lang);
  const [step, setStep] = useState(1);
  const [form, setForm] = useState<Form>(EMPTY);
  const [editing, setEditing] = useState<Queued | null>(null);
  const [outcome, setOutcome] = useState<string | null>(null);
  const change = (part: Partial<Form>) => setForm((current) => ({ ...current, ...part }));
  const heading = useRef<HTMLHeadingElement>(null);
  const firstStep = useRef(true);
  useEffect(() => {
    if (!firstStep.current) heading.current?.focus();
    firstStep.current = false;
  }, [step]);

  async function addPhotos(files: FileList | null, proposePin: boolean): Promise<void> {
    for (const file of Array.from(files ?? [])) {
      if (proposePin && !form.point) {
        const point = await exifPoint(file);
        if (point) change({ point });
      }
      const resized = await resizePhoto(file);
      setForm((current) => ({ ...current, photos: [...current.photos, resized] }));
    }
  }

  async function submit(): Promise<void> {
    const draft = {
      category: form.category,
      severity: form.severity,
      description: form.description.trim(),
      location: {
        lat: form.point!.lat,
        lon: form.point!.lon,
        ...(form.district ? { district: form.district } : {}),
        ...(form.address.trim() ? { address: form.address.trim() } : {}),
      },
    };
    let item: Queued;
    if (editing) {
      item = { ...editing, draft, photos: form.photos, error: null };
      await update(item);
    } else {
      item = await enqueue(draft, form.photos);
    }
    setEditing(null);
    setForm(EMPTY);
    setStep(1);
    if (!navigator.onLine) {
      setOutcome(t("queued"));
      return;
    }
    try {
      const accepted = await send(item);
      setOutcome(`${t("sent")} ${accepted.case_id}`);
    } catch (error) {
      setOutcome(error instanceof TypeError ? t("queued") : `${t("sendFailed")}: ${(error as Error).message}`);
    }
  }

  function edit(item: Queued): void {
    setEditing(item);
    setForm({
      category: item.draft.category,
      point: { lat: item.draft.location.lat, lon: item.draft.location.lon },
      district: item.draft.location.district ?? "",
      address: item.draft.location.address ?? "",
      severity: item.draft.severity,
      description: item.draft.description,
      photos: item.photos,
    });
    setStep(1);
    setOutcome(null);
  }

  const titles = [t("step.category"), t("step.point"), t("step.details")];
  return (
    <Page title={t("nav.report")}>
      {outcome && (
        <p role="status" class="notice">
          {outcome}
        </p>
      )}
      <Outbox onEdit={edit} />
      <h2 ref={heading} tabIndex={-1}>
        {titles[step - 1]}
      </h2>
      {step === 1 && (
        <CategoryStep
          value={form.category}
          onPick={(category) => (change({ category }), setStep(2))}
          onPhotoFirst={(files) => void addPhotos(files, true)}
          photoCount={form.photos.length}
        />
      )}
      {step === 2 && (
        <Suspense fallback={<Loading error={null} />}>
          <PointStep form={form} change={change} onBack={() => setStep(1)} onNext={() => setStep(3)} />
        </Suspense>
      )}
      {step === 3 && (
        <form
          onSubmit={(event) => {
            event.preventDefault();
            void submit();
          }}
        >
          <Field label={t("severity")}>
            <select value={form.severity} onChange={(e) => change({ severity: e.currentTarget.value })}>
              {SEVERITIES.map((code) => (
                <option value={code}>{severityName(code)}</option>
              ))}
            </select>
          </Field>
          <Field label={t("description")}>
            <textarea required rows={4} maxLength={4000} value={form.description} onInput={(e) => change({ description: e.currentTarget.value })} />
          </Field>
          <Photos photos={form.photos} onAdd={(files) => void addPhotos(files, false)} onRemove={(index) => change({ photos: form.photos.filter((_, i) => i !== index) })} />
          <div class="actions">
            <button type="button" onClick={() => setStep(2)}>
              {t("back")}
            </button>
            <button type="submit" class="primary">
              {editing ? t("save") : t("submit")}
            </button>
          </div>
        </form>
      )}
    </Page>
  );
}

function CategoryStep(props: { value: string; onPick: (code: string) => void; onPhotoFirst: (files: FileList | null) => void; photoCount: number }) {
  const { data, error } = useLoad(categories, []);
  if (!data) return <Loading error={error} />;
  return (
    <>
      <ul class="categories">
        {data.map((category) => (
          <li>
            <button type="button" aria-pressed={props.value === category.code} onClick={() => props.onPick(category.code)}>
              <CategoryIcon code={category.code} />
              <span lang="zh-CN">{category.name_zh}</span>
              <span lang="en" class="secondary">
                {category.name_en}
              </span>
            </button>
          </li>
        ))}
      </ul>
      <label class="button">
        {t("photoFirst")}
        {props.photoCount > 0 && ` (${props.photoCount})`}
        <input type="file" accept="image/*" capture="environment" class="visually-hidden" onChange={(e) => props.onPhotoFirst(e.currentTarget.files)} />
      </label>
    </>
  );
}

function Loading({ error }: { error: string | null }) {
  return <p role={error ? "alert" : undefined}>{error ?? t("loading")}</p>;
}

function Photos({ photos, onAdd, onRemove }: { photos: Blob[]; onAdd: (files: FileList | null) => void; onRemove: (index: number) => void }) {
  const [urls, setUrls] = useState<string[]>([]);
  useEffect(() => {
    const made = photos.map((photo) => URL.createObjectURL(photo));
    setUrls(made);
    return () => made.forEach((made) => URL.revokeObjectURL(made));
  }, [photos]);
  return (
    <fieldset>
      <legend>{t("photos")}</legend>
      <ul class="thumbs">
        {urls.map((src, index) => (
          <li>
            <img src={src} alt={`${t("photos")} ${index + 1}`} />
            <button type="button" onClick={() => onRemove(index)}>
              {t("removePhoto")} {index + 1}
            </button>
          </li>
        ))}
      </ul>
      <label class="button">
        {t("addPhoto")}
        <input name="photo" type="file" accept="image/*" capture="environment" class="visually-hidden" onChange={(e) => onAdd(e.currentTarget.files)} />
      </label>
    </fieldset>
  );
}

function Outbox({ onEdit }: { onEdit: (item: Queued) => void }) {
  const items = useSignal(waiting);
  if (!items.length) return null;
  return (
    <section aria-labelledby="outbox-title" class="outbox">
      <h2 id="outbox-title">
        {t("waiting")} ({items.length})
      </h2>
      <ul>
        {items.map((item) => (
          <li data-testid="queued">
            <span>
              {new Date(item.createdAt).toLocaleTimeString()} · {item.draft.category} · {item.draft.description.slice(0, 40)} · {t("photos")} {item.photos.length}
            </span>
            {item.error && <span class="error">{item.error}</span>}
            <button type="button" onClick={() => onEdit(item)}>
              {t("edit")}
            </button>
            <button type="button" onClick={() => void remove(item.key)}>
              {t("delete")}
            </button>
          </li>
        ))}
      </ul>
    </section>
  );
}
