// Admin: Open311 api keys, the handlers on duty, and the routing catalogue.
import { useState } from "preact/hooks";
import { get, post, request } from "../api";
import { lang, t, when } from "../i18n";
import { useSignal } from "../signal";
import { Field, Loading, Page, Table, useLoad } from "../ui";

interface Entry {
  category: string;
  district: string;
  lead: string;
  co_departments: string[];
}

interface ApiKey {
  key_id: string;
  name: string;
  created_at: string;
  created_by: string;
  revoked_at: string | null;
}

interface IssuedApiKey extends ApiKey {
  api_key: string;
}

interface Handler {
  handler_id: string;
  department: string;
  name: string;
  on_duty: boolean;
}

export function Admin() {
  useSignal(lang);
  const { data, error, reload } = useLoad(
    () => Promise.all([get<Entry[]>("assignment", "/admin/catalogue"), get<Handler[]>("assignment", "/admin/handlers")]),
    [],
  );
  if (!data) return <Page title={t("nav.admin")}>{<Loading error={error} />}</Page>;
  const [catalogue, handlers] = data;
  async function toggle(handler: Handler): Promise<void> {
    await request("assignment", `/admin/handlers/${encodeURIComponent(handler.handler_id)}`, {
      method: "PATCH",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ on_duty: !handler.on_duty }),
    });
    reload();
  }
  return (
    <Page title={t("nav.admin")}>
      <ApiKeys />
      <h2>{t("handlers")}</h2>
      <Table head={["id", t("department"), t("onDuty")]}>
        {handlers.map((handler) => (
          <tr>
            <td>
              {handler.handler_id} {handler.name}
            </td>
            <td>{handler.department}</td>
            <td>
              <label>
                <input type="checkbox" checked={handler.on_duty} onChange={() => void toggle(handler)} /> {t("onDuty")}
                <span class="visually-hidden"> {handler.handler_id}</span>
              </label>
            </td>
          </tr>
        ))}
      </Table>
      <h2>{t("catalogue")}</h2>
      <Table head={[t("category"), t("district"), t("department"), "+"]}>
        {catalogue.map((entry) => (
          <tr>
            <td>{entry.category}</td>
            <td>{entry.district}</td>
            <td>{entry.lead}</td>
            <td>{entry.co_departments.join(", ")}</td>
          </tr>
        ))}
      </Table>
    </Page>
  );
}

/** Open311 api keys: issue one for a client (the key is shown this once), list, revoke. */
function ApiKeys() {
  const { data, error, reload } = useLoad(() => get<ApiKey[]>("intake", "/v1/admin/api-keys"), []);
  const [client, setClient] = useState("");
  const [issued, setIssued] = useState<IssuedApiKey | null>(null);
  const [copied, setCopied] = useState(false);
  const [revoking, setRevoking] = useState<string | null>(null);
  const [failure, setFailure] = useState<string | null>(null);

  async function create(): Promise<void> {
    setFailure(null);
    try {
      setIssued(await post<IssuedApiKey>("intake", "/v1/admin/api-keys", { name: client.trim() }));
      setCopied(false);
      setClient("");
      reload();
    } catch (problem) {
      setFailure((problem as Error).message);
    }
  }

  async function revoke(keyId: string): Promise<void> {
    setFailure(null);
    try {
      await request("intake", `/v1/admin/api-keys/${keyId}`, { method: "DELETE" });
      setRevoking(null);
      reload();
    } catch (problem) {
      setFailure((problem as Error).message);
    }
  }

  return (
    <section aria-labelledby="api-keys-title">
      <h2 id="api-keys-title">{t("apiKeys")}</h2>
      <form
        class="inline"
        onSubmit={(event) => {
          event.preventDefault();
          void create();
        }}
      >
        <Field label={t("apiKey.client")}>
          <input name="client" type="text" required pattern="[a-z0-9][a-z0-9\-]{0,63}" value={client} onInput={(e) => setClient(e.currentTarget.value)} />
        </Field>
        <button type="submit" class="primary">
          {t("apiKey.create")}
        </button>
      </form>
      {failure && (
        <p role="alert" class="error">
          {failure}
        </p>
      )}
      {issued && (
        <div class="issued" role="region" aria-labelledby="issued-title">
          <h3 id="issued-title">
            {t("apiKey.new")}: {issued.name}
          </h3>
          <p class="warning">{t("apiKey.once")}</p>
          <p>
            <code data-testid="issued-api-key">{issued.api_key}</code>{" "}
            <button type="button" onClick={() => void navigator.clipboard.writeText(issued.api_key).then(() => setCopied(true))}>
              {t("copy")}
            </button>
            {copied && <span role="status"> {t("copied")}</span>}
          </p>
          <button type="button" ref={(button) => button?.focus()} onClick={() => setIssued(null)}>
            {t("apiKey.done")}
          </button>
        </div>
      )}
      {!data ? (
        <Loading error={error} />
      ) : !data.length ? (
        <p>{t("apiKey.none")}</p>
      ) : (
        <Table head={[t("apiKey.id"), t("apiKey.clientColumn"), t("apiKey.created"), t("apiKey.state")]}>
          {data.map((key) => (
            <tr data-key={key.key_id}>
              <td>
                <code>{key.key_id}</code>
              </td>
              <td>{key.name}</td>
              <td>{when(key.created_at)}</td>
              <td>
                {key.revoked_at ? (
                  `${t("apiKey.revoked")} ${when(key.revoked_at)}`
                ) : revoking === key.key_id ? (
                  <span role="group" aria-label={t("apiKey.confirmRevoke")}>
                    {t("apiKey.confirmRevoke")}{" "}
                    <button type="button" class="danger" ref={(button) => button?.focus()} onClick={() => void revoke(key.key_id)}>
                      {t("apiKey.confirm")} <span class="visually-hidden">{key.key_id}</span>
                    </button>{" "}
                    <button type="button" onClick={() => setRevoking(null)}>
                      {t("cancel")}
                    </button>
                  </span>
                ) : (
                  <>
                    {t("apiKey.active")}{" "}
                    <button type="button" onClick={() => setRevoking(key.key_id)}>
                      {t("apiKey.revoke")} <span class="visually-hidden">{key.key_id}</span>
                    </button>
                  </>
                )}
              </td>
            </tr>
          ))}
        </Table>
      )}
    </section>
  );
}
