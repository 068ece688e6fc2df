// Small shared pieces: loading and error states, polling, the live-list hook.
import type { ComponentChildren } from "preact";
import { useEffect, useState } from "preact/hooks";
import { config } from "./config";
import { t } from "./i18n";

export function useLoad<T>(load: () => Promise<T>, deps: unknown[], live = false) {
  const [data, setData] = useState<T | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [tick, setTick] = useState(0);
  useEffect(() => {
    let current = true;
    load().then(
      (value) => current && (setData(value), setError(null)),
      (failure: Error) => current && setError(failure.message),
    );
    return () => {
      current = false;
    };
  }, [...deps, tick]);
  useEffect(() => {
    if (!live) return;
    const timer = setInterval(() => document.visibilityState === "visible" && setTick((n) => n + 1), config.refreshSeconds * 1000);
    return () => clearInterval(timer);
  }, [live]);
  return { data, error, reload: () => setTick((n) => n + 1) };
}

export function Loading({ error }: { error: string | null }) {
  return error ? (
    <p role="alert" class="error">
      {t("error")}: {error}
    </p>
  ) : (
    <p aria-live="polite">{t("loading")}</p>
  );
}

export function Field({ label, children }: { label: string; children: ComponentChildren }) {
  return (
    <label class="field">
      <span>{label}</span>
      {children}
    </label>
  );
}

export function Page({ title, children }: { title: string; children: ComponentChildren }) {
  useEffect(() => {
    document.title = `${title} · ${t("app")}`;
  }, [title]);
  return (
    <>
      <h1>{title}</h1>
      {children}
    </>
  );
}

/** A table in the console's style: one header row of `head`, the rows as children. */
export function Table({ head, caption, children }: { head: ComponentChildren[]; caption?: string; children: ComponentChildren }) {
  return (
    <table class="cases">
      {caption && <caption>{caption}</caption>}
      <thead>
        <tr>
          {head.map((cell) => (
            <th scope="col">{cell}</th>
          ))}
        </tr>
      </thead>
      <tbody>{children}</tbody>
    </table>
  );
}
