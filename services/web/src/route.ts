// Hash routes: #/report, #/mine/<id>, #/queue, #/case/<id>, #/supervise, #/dashboard, #/admin
import { signal } from "./signal";

export const route = signal<string[]>(parse());

function parse(): string[] {
  return location.hash.replace(/^#\/?/, "").split("/").filter(Boolean).map(decodeURIComponent);
}

/** Reads the route from the address again (after history.replaceState, which fires no event). */
export function syncRoute(): void {
  route.set(parse());
}

window.addEventListener("hashchange", syncRoute);

export function go(path: string): void {
  location.hash = `#/${path}`;
}
