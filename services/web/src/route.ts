// Hash routes: #/report, #/mine/<id>, #/queue, #/case/<id>, #/supervise, #/dashboard, #/admin
import { signal } from "./signal";

export const route = signal<string[]>(parse());

function parse(): string[] {
  return location.hash.replace(/^#\/?/, "").split("/").filter(Boolean).map(decodeURIComponent);
}

window.addEventListener("hashchange", () => route.set(parse()));

export function go(path: string): void {
  location.hash = `#/${path}`;
}
