// Calls to the four services through the one origin: /api/<service>/...
import { accessToken } from "./auth";

export type Service = "intake" | "assignment" | "remediation" | "statistics";

const PREFIX: Record<Service, string> = {
  intake: "/api/intake",
  assignment: "/api/assignment",
  remediation: "/api/remediation",
  statistics: "/api/statistics",
};

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly body: any,
  ) {
    super(describe(status, body));
  }
}

function describe(status: number, body: any): string {
  // RFC 9457 problem details: name the fields of every error, else the detail or title
  if (Array.isArray(body?.errors) && body.errors.length) {
    return body.errors.map((error: any) => (error.field ? `${error.field}: ${error.msg}` : error.msg)).join("; ");
  }
  if (typeof body?.detail === "string") return body.detail;
  if (typeof body?.title === "string") return body.title;
  return typeof body === "string" && body ? body : `HTTP ${status}`;
}

/** A 409/412 because the case changed since it was read. */
export function isVersionConflict(error: unknown): boolean {
  return error instanceof ApiError && (error.status === 409 || error.status === 412) && error.body?.current_version !== undefined;
}

export function url(service: Service, path: string): string {
  return `${PREFIX[service]}${path}`;
}

export async function request(
  service: Service,
  path: string,
  init: RequestInit = {},
): Promise<Response> {
  const headers = new Headers(init.headers);
  const token = await accessToken();
  if (token) headers.set("Authorization", `Bearer ${token}`);
  const response = await fetch(url(service, path), { ...init, headers });
  if (!response.ok) {
    const text = await response.text();
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch {
      // not JSON: keep the text
    }
    throw new ApiError(response.status, body);
  }
  return response;
}

export async function get<T>(service: Service, path: string): Promise<T> {
  return (await (await request(service, path)).json()) as T;
}

export async function post<T>(
  service: Service,
  path: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<T> {
  const init: RequestInit =
    body instanceof FormData
      ? { method: "POST", body, headers }
      : {
          method: "POST",
          body: JSON.stringify(body),
          headers: { "Content-Type": "application/json", ...headers },
        };
  return (await (await request(service, path, init)).json()) as T;
}

/** An image the API guards with a token, as an object URL for an <img>. */
export async function imageUrl(service: Service, path: string): Promise<string> {
  const blob = await (await request(service, path)).blob();
  return URL.createObjectURL(blob);
}

export interface Category {
  code: string;
  name_zh: string;
  name_en: string;
}

export interface PhotoRef {
  photo_id: string;
  url: string;
  content_type: string;
}

export interface TimelineEntry {
  at: string;
  event: string;
  status: string | null;
  note: string | null;
}

export interface Report {
  case_id: string;
  status: string;
  category: string | null;
  severity: string | null;
  description: string | null;
  location: { lat?: number; lon?: number; district?: string; address?: string } | null;
  photos: PhotoRef[];
  reported_at: string | null;
  updated_at: string | null;
  department: string | null;
  expected_at: string | null;
  notes: { at: string; status: string | null; note: string }[];
  timeline: TimelineEntry[];
}

export interface CaseEvent {
  event_id: string;
  event_type: string;
  occurred_at: string;
  producer: string;
  payload: Record<string, any>;
}

export interface Case {
  case_id: string;
  status: string | null;
  version: number;
  category: string | null;
  severity: string | null;
  district: string | null;
  community: string | null;
  department: string | null;
  handler: string | null;
  due: Record<string, string>;
  flags: { overdue: boolean; overdue_stages: string[]; escalated: boolean; escalation_level: number | null };
  rectification: Record<string, any> | null;
  reported_at: string | null;
  updated_at: string | null;
  resolved_by: string | null;
  duplicate_of: string | null;
  allowed_actions: string[];
  timeline?: CaseEvent[] | null;
}

export interface CasePage {
  items: Case[];
  next_cursor: string | null;
}
