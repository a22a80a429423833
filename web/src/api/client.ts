// A thin fetch wrapper: JSON in and out, same-origin cookies, and every
// error turned into an ApiError carrying the server's RFC 9457 problem.
import type { components } from "./schema";

export type SystemStatus = components["schemas"]["Status"];

export interface Problem {
  title?: string;
  status?: number;
  detail?: string;
  errors?: { message?: string; location?: string }[];
}

export class ApiError extends Error {
  readonly status: number;
  readonly problem: Problem;
  constructor(status: number, problem: Problem) {
    super(problemMessage(status, problem));
    this.status = status;
    this.problem = problem;
  }
}

export function problemMessage(status: number, p: Problem): string {
  const parts = [p.detail || p.title || `HTTP ${status}`];
  for (const e of p.errors ?? []) {
    if (e.message) parts.push(e.location ? `${e.location}: ${e.message}` : e.message);
  }
  return parts.join(" — ");
}

export async function apiFetch<T>(path: string, init: RequestInit = {}): Promise<T> {
  const headers = new Headers(init.headers);
  headers.set("Accept", "application/json");
  if (init.body && !headers.has("Content-Type")) headers.set("Content-Type", "application/json");
  const res = await fetch(path, { ...init, headers, credentials: "same-origin" });
  const text = await res.text();
  let body: unknown = undefined;
  if (text) {
    try {
      body = JSON.parse(text);
    } catch {
      body = { detail: text.slice(0, 200) };
    }
  }
  if (!res.ok) throw new ApiError(res.status, (body as Problem) ?? {});
  return body as T;
}

export const getSystemStatus = () => apiFetch<SystemStatus>("/api/v1/system/status");
