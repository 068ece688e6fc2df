// Sign-in: OpenID Connect authorization code flow with PKCE (RFC 7636), written out in full;
// tokens stay in this browser's storage so queued reports can still be sent after a restart.
import { config } from "./config";
import { signal } from "./signal";

export interface Session {
  accessToken: string;
  refreshToken: string | null;
  expiresAt: number;
  idToken: string | null;
}

export interface Claims {
  sub: string;
  role: string;
  department: string[];
  team: string | null;
  name: string;
}

const STORE = "gridcase.session";
const PENDING = "gridcase.pkce";

function load(): Session | null {
  const raw = localStorage.getItem(STORE);
  return raw ? (JSON.parse(raw) as Session) : null;
}

export const session = signal<Session | null>(load());

function save(next: Session | null): void {
  if (next) localStorage.setItem(STORE, JSON.stringify(next));
  else localStorage.removeItem(STORE);
  session.set(next);
}

function base64url(bytes: Uint8Array): string {
  let text = "";
  for (const byte of bytes) text += String.fromCharCode(byte);
  return btoa(text).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function randomString(): string {
  return base64url(crypto.getRandomValues(new Uint8Array(32)));
}

async function challengeOf(verifier: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier));
  return base64url(new Uint8Array(digest));
}

interface Discovery {
  authorization_endpoint: string;
  token_endpoint: string;
  end_session_endpoint?: string;
}

let discovered: Discovery | null = null;

async function discovery(): Promise<Discovery> {
  if (!discovered) {
    const response = await fetch(`${config.oidcIssuer}/.well-known/openid-configuration`);
    if (!response.ok) throw new Error(`OpenID discovery failed: ${response.status}`);
    discovered = (await response.json()) as Discovery;
  }
  return discovered;
}

const redirectUri = (): string => `${location.origin}/`;

/** Sends the browser to the provider's sign-in page. */
export async function signIn(returnTo: string): Promise<void> {
  const { authorization_endpoint } = await discovery();
  const verifier = randomString();
  const state = randomString();
  sessionStorage.setItem(PENDING, JSON.stringify({ verifier, state, returnTo }));
  const url = new URL(authorization_endpoint);
  url.search = new URLSearchParams({
    response_type: "code",
    client_id: config.oidcClientId,
    redirect_uri: redirectUri(),
    scope: "openid",
    state,
    code_challenge: await challengeOf(verifier),
    code_challenge_method: "S256",
  }).toString();
  location.assign(url.toString());
}

async function tokenRequest(body: Record<string, string>): Promise<void> {
  const { token_endpoint } = await discovery();
  const response = await fetch(token_endpoint, {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ client_id: config.oidcClientId, ...body }),
  });
  if (!response.ok) throw new Error(`token request failed: ${response.status}`);
  const tokens = (await response.json()) as {
    access_token: string;
    refresh_token?: string;
    expires_in: number;
    id_token?: string;
  };
  save({
    accessToken: tokens.access_token,
    refreshToken: tokens.refresh_token ?? null,
    expiresAt: Date.now() + tokens.expires_in * 1000,
    idToken: tokens.id_token ?? null,
  });
}

/** True while a sign-in the provider sent back with a code is being completed. */
export const returning = signal(new URLSearchParams(location.search).has("code") && sessionStorage.getItem(PENDING) !== null);

/** Completes a sign-in when the provider sent the browser back with a code, and puts back
 * the address the person was going to; does nothing on any other page load. */
export async function completeSignIn(): Promise<void> {
  const params = new URLSearchParams(location.search);
  const code = params.get("code");
  const pending = sessionStorage.getItem(PENDING);
  if (!code || !pending) return;
  sessionStorage.removeItem(PENDING);
  const { verifier, state, returnTo } = JSON.parse(pending) as Record<string, string>;
  history.replaceState(null, "", `/${returnTo ?? ""}`);
  try {
    if (params.get("state") !== state) throw new Error("sign-in state does not match");
    await tokenRequest({
      grant_type: "authorization_code",
      code,
      redirect_uri: redirectUri(),
      code_verifier: verifier ?? "",
    });
  } finally {
    returning.set(false);
  }
}

/** A valid access token, refreshed when it is about to expire; null when signed out. */
export async function accessToken(): Promise<string | null> {
  const current = session.get();
  if (!current) return null;
  if (current.expiresAt - Date.now() > 30_000 || !current.refreshToken) return current.accessToken;
  try {
    await tokenRequest({ grant_type: "refresh_token", refresh_token: current.refreshToken });
  } catch {
    return current.accessToken;
  }
  return session.get()?.accessToken ?? null;
}

export function useDevToken(token: string): void {
  const claims = decode(token.trim());
  save({ accessToken: token.trim(), refreshToken: null, expiresAt: claims.exp * 1000, idToken: null });
}

export async function signOut(): Promise<void> {
  const current = session.get();
  save(null);
  if (current?.idToken && config.oidcIssuer) {
    const { end_session_endpoint } = await discovery();
    if (end_session_endpoint) {
      const url = new URL(end_session_endpoint);
      url.search = new URLSearchParams({
        id_token_hint: current.idToken,
        post_logout_redirect_uri: redirectUri(),
      }).toString();
      location.assign(url.toString());
    }
  }
}

function decode(token: string): Record<string, any> & { exp: number } {
  const part = token.split(".")[1] ?? "";
  const json = atob(part.replace(/-/g, "+").replace(/_/g, "/"));
  return JSON.parse(new TextDecoder().decode(Uint8Array.from(json, (c) => c.charCodeAt(0))));
}

const ROLES = ["admin", "supervisor", "handler", "volunteer"];

/** Who is signed in, from the access token's claims (role, department, team). */
export function claims(): Claims | null {
  const current = session.get();
  if (!current) return null;
  const raw = decode(current.accessToken);
  const roles: string[] = [
    ...(typeof raw.role === "string" ? [raw.role] : []),
    ...((raw.roles as string[] | undefined) ?? []),
    ...((raw.realm_access?.roles as string[] | undefined) ?? []),
  ];
  const department = raw.department;
  return {
    sub: raw.sub,
    role: ROLES.find((role) => roles.includes(role)) ?? "volunteer",
    department: Array.isArray(department) ? department : department ? [department] : [],
    team: raw.team ?? null,
    name: raw.preferred_username ?? raw.name ?? raw.sub,
  };
}
