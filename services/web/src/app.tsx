// The shell: skip link, navigation by role, language switch, and the routed page.
import { lazy, Suspense } from "preact/compat";
import { useState } from "preact/hooks";
import { claims, returning, session, signIn, signOut, useDevToken } from "./auth";
import { config, configured } from "./config";
import { lang, setLang, t, type Key } from "./i18n";
import { route } from "./route";
import { useSignal } from "./signal";
import { Field, Page } from "./ui";
import { MyReports } from "./volunteer/mine";
import { NewReport } from "./volunteer/report";

const Console = lazy(() => import("./console/queue").then((m) => ({ default: m.Queue })));
const CasePage = lazy(() => import("./console/case").then((m) => ({ default: m.CasePage })));
const Supervise = lazy(() => import("./console/supervise").then((m) => ({ default: m.Supervise })));
const Dashboard = lazy(() => import("./console/dashboard").then((m) => ({ default: m.Dashboard })));
const Admin = lazy(() => import("./console/admin").then((m) => ({ default: m.Admin })));

const NAV: Record<string, [string, Key][]> = {
  volunteer: [
    ["report", "nav.report"],
    ["mine", "nav.mine"],
  ],
  handler: [
    ["queue", "nav.queue"],
    ["dashboard", "nav.dashboard"],
  ],
  supervisor: [
    ["queue", "nav.queue"],
    ["supervise", "nav.supervise"],
    ["dashboard", "nav.dashboard"],
  ],
  admin: [
    ["queue", "nav.queue"],
    ["supervise", "nav.supervise"],
    ["dashboard", "nav.dashboard"],
    ["admin", "nav.admin"],
  ],
};

export function App() {
  useSignal(lang);
  useSignal(session);
  const completing = useSignal(returning);
  const ready = useSignal(configured);
  const path = useSignal(route);
  const who = claims();
  const page = path[0] ?? (who?.role === "volunteer" || !who ? "report" : "queue");
  const nav = who ? (NAV[who.role] ?? []) : [];
  return (
    <>
      <a class="skip" href="#main" onClick={(event) => (event.preventDefault(), document.getElementById("main")?.focus())}>
        {t("skip")}
      </a>
      <header>
        <span class="brand">{t("app")}</span>
        <nav aria-label={t("app")}>
          {nav.map(([target, key]) => (
            <a href={`#/${target}`} aria-current={page === target ? "page" : undefined}>
              {t(key)}
            </a>
          ))}
        </nav>
        <button type="button" class="link" lang={lang.get() === "zh" ? "en" : "zh-CN"} onClick={() => setLang(lang.get() === "zh" ? "en" : "zh")}>
          {t("language")}
        </button>
        {who && (
          <button type="button" class="link" onClick={() => void signOut()}>
            {t("nav.signout")}
          </button>
        )}
      </header>
      <main id="main" tabIndex={-1}>
        {who && ready ? (
          <Suspense fallback={<p>{t("loading")}</p>}>
            <Routed page={page} rest={path.slice(1)} role={who.role} />
          </Suspense>
        ) : who || completing ? (
          <p aria-live="polite">{t("loading")}</p>
        ) : (
          <SignIn />
        )}
      </main>
    </>
  );
}

function Routed({ page, rest, role }: { page: string; rest: string[]; role: string }) {
  const staff = role !== "volunteer";
  switch (page) {
    case "report":
      return <NewReport />;
    case "mine":
      return <MyReports caseId={rest[0] ?? null} />;
    case "queue":
      return staff ? <Console /> : <NotAllowed />;
    case "case":
      return staff ? <CasePage caseId={rest[0] ?? ""} /> : <NotAllowed />;
    case "supervise":
      return role === "supervisor" || role === "admin" ? <Supervise tab={rest[0] ?? "verification"} /> : <NotAllowed />;
    case "dashboard":
      return staff ? <Dashboard /> : <NotAllowed />;
    case "admin":
      return role === "admin" ? <Admin /> : <NotAllowed />;
    default:
      return <NotAllowed />;
  }
}

function NotAllowed() {
  return <Page title={t("notAllowed")}>{null}</Page>;
}

function SignIn() {
  const [token, setToken] = useState("");
  const [error, setError] = useState<string | null>(null);
  const ready = useSignal(configured);
  return (
    <Page title={t("signin.title")}>
      {!ready && <p aria-live="polite">{t("loading")}</p>}
      {config.oidcIssuer && (
        <button type="button" class="primary" onClick={() => signIn(location.hash).catch((e: Error) => setError(e.message))}>
          {t("signin.oidc")}
        </button>
      )}
      {config.devTokens && (
        <form
          onSubmit={(event) => {
            event.preventDefault();
            try {
              useDevToken(token);
            } catch (e) {
              setError((e as Error).message);
            }
          }}
        >
          <Field label={t("signin.token")}>
            <textarea name="token" rows={3} value={token} onInput={(e) => setToken(e.currentTarget.value)} />
          </Field>
          <button type="submit">{t("signin.useToken")}</button>
        </form>
      )}
      {error && (
        <p role="alert" class="error">
          {t("signin.failed")}: {error}
        </p>
      )}
    </Page>
  );
}
