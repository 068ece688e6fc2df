// Deployment settings, read at start from /config.json (nginx serves the deployment's copy;
// index.html preloads it). The app renders before it arrives: `configured` says when it has.
import { signal } from "./signal";

export interface Config {
  /** OpenID Connect issuer, e.g. http://127.0.0.1:8080/realms/gridcase */
  oidcIssuer: string;
  oidcClientId: string;
  /** Optional raster tile URL template; without it maps show the district boundaries only. */
  tileUrl: string;
  tileAttribution: string;
  /** District boundaries (GeoJSON FeatureCollection). */
  boundariesUrl: string;
  /** Let developers paste a token minted by `gridcase token` (local stacks only). */
  devTokens: boolean;
  /** How often live lists refresh, in seconds. */
  refreshSeconds: number;
}

const defaults: Config = {
  oidcIssuer: "",
  oidcClientId: "gridcase-web",
  tileUrl: "",
  tileAttribution: "",
  boundariesUrl: "/api/intake/v1/boundaries",
  devTokens: false,
  refreshSeconds: 10,
};

export let config: Config = defaults;

export const configured = signal(false);

export async function loadConfig(): Promise<void> {
  try {
    const response = await fetch("/config.json");
    if (response.ok) config = { ...defaults, ...((await response.json()) as Partial<Config>) };
  } catch {
    // offline: the service worker serves the cached copy; failing that, the defaults
  }
  configured.set(true);
}
