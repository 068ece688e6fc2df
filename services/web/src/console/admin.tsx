// Admin: the routing catalogue, the handlers on duty, and Open311 api keys.
import { get, request } from "../api";
import { lang, t } from "../i18n";
import { useSignal } from "../signal";
import { Loading, Page, useLoad } from "../ui";

interface Entry {
  category: string;
  district: string;
  lead: string;
  co_departments: string[];
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
      <h2>{t("handlers")}</h2>
      <table class="cases">
        <thead>
          <tr>
            <th scope="col">id</th>
            <th scope="col">{t("department")}</th>
            <th scope="col">{t("onDuty")}</th>
          </tr>
        </thead>
        <tbody>
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
        </tbody>
      </table>
      <h2>{t("catalogue")}</h2>
      <table class="cases">
        <thead>
          <tr>
            <th scope="col">{t("category")}</th>
            <th scope="col">{t("district")}</th>
            <th scope="col">{t("department")}</th>
            <th scope="col">+</th>
          </tr>
        </thead>
        <tbody>
          {catalogue.map((entry) => (
            <tr>
              <td>{entry.category}</td>
              <td>{entry.district}</td>
              <td>{entry.lead}</td>
              <td>{entry.co_departments.join(", ")}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </Page>
  );
}
