// A thin fetch wrapper: JSON in and out, same-origin cookies, the CSRF token
// on every write, and every error turned into an ApiError carrying the
// server's RFC 9457 problem.
import type { components } from "./schema";

type S = components["schemas"];
export type SystemStatus = S["Status"];
export type Me = S["Me"];
export type User = S["User"];
export type Session = S["Session"];
export type APIToken = S["APIToken"];
export type AuditEvent = S["Event"];
export type Team = S["Team"];
export type MFAEnrollment = S["MFAEnrollment"];
export type Role = User["role"];
export type Finding = S["Finding"];
export type FindingDetail = S["Detail"];
export type FindingList = S["ListResult"];
export type ScanResult = S["ScanResult"];
export type Overview = S["Overview"];
export type PassRate = S["PassRate"];
export type VulnerabilityList = S["VulnerabilityList"];
export type VulnerabilitySummary = S["VulnerabilitySummary"];
export type AssetSummary = S["AssetSummary"];
export type VulnerabilityDetail = S["VulnerabilityDetail"];
export type Occurrence = S["Occurrence"];
export type SLAPolicy = S["SLAPolicy"];
export type KEVSyncResult = S["KEVSyncResult"];

export type CloudAccount = S["Account"];
export type AccountParams = S["AccountParams"];
export type AccountChange = S["AccountChange"];
export type Credentials = S["Credentials"];
export type ConnectionTest = S["TestResult"];
export type Onboarding = S["Onboarding"];
export type MuteRule = S["MuteRule"];
export type MutePreview = S["MutePreview"];
export type ScanRun = S["ScanRun"];
export type SubJob = S["SubJob"];
export type Schedule = S["Schedule"];
export type ScheduleParams = S["ScheduleParams"];

export const ROLES: Role[] = ["ADMIN", "SECURITY_MANAGER", "SECURITY_ANALYST", "COMPLIANCE_OFFICER", "AUDITOR", "VIEWER"];

export interface Problem {
  title?: string;
  status?: number;
  detail?: string;
  errors?: { message?: string; location?: string }[];
}

export class ApiError extends Error {
  readonly status: number;
  readonly problem: Problem;
  readonly retryAfter: number | null;
  constructor(status: number, problem: Problem, retryAfter: number | null = null) {
    super(problemMessage(status, problem));
    this.status = status;
    this.problem = problem;
    this.retryAfter = retryAfter;
  }
  get mfaRequired(): boolean {
    return this.status === 401 && (this.problem.errors ?? []).some((e) => e.message === "mfa_required");
  }
}

export function problemMessage(status: number, p: Problem): string {
  const parts = [p.detail || p.title || `HTTP ${status}`];
  for (const e of p.errors ?? []) {
    if (e.message && e.message !== "mfa_required") parts.push(e.location ? `${e.location}: ${e.message}` : e.message);
  }
  return parts.join(" — ");
}

// The CSRF token comes from login and GET /api/v1/auth/me; writes send it back.
let csrfToken = "";
export function setCSRFToken(t: string | undefined) {
  csrfToken = t ?? "";
}
// csrf is the token for requests made without apiFetch (uploads, streams).
export const csrf = () => csrfToken;

export async function apiFetch<T>(path: string, init: RequestInit = {}): Promise<T> {
  const headers = new Headers(init.headers);
  headers.set("Accept", "application/json");
  // A FormData body carries its own multipart type and boundary.
  if (init.body && !(init.body instanceof FormData) && !headers.has("Content-Type")) headers.set("Content-Type", "application/json");
  const method = (init.method ?? "GET").toUpperCase();
  if (method !== "GET" && method !== "HEAD" && csrfToken) headers.set("X-CSRF-Token", csrfToken);
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
  if (!res.ok) {
    const ra = res.headers.get("Retry-After");
    throw new ApiError(res.status, (body as Problem) ?? {}, ra ? Number(ra) : null);
  }
  return body as T;
}

const json = (method: string, body?: unknown): RequestInit => ({ method, body: body === undefined ? undefined : JSON.stringify(body) });

export const api = {
  status: () => apiFetch<SystemStatus>("/api/v1/system/status"),
  me: () => apiFetch<Me>("/api/v1/auth/me"),
  login: (body: { email: string; password: string; otp?: string; recovery_code?: string }) =>
    apiFetch<S["LoginOutputBody"]>("/api/v1/auth/login", json("POST", body)),
  logout: () => apiFetch<void>("/api/v1/auth/logout", json("POST")),
  changePassword: (current_password: string, new_password: string) =>
    apiFetch<void>("/api/v1/auth/password", json("POST", { current_password, new_password })),
  sessions: () => apiFetch<S["SessionsOutputBody"]>("/api/v1/auth/sessions"),
  revokeSession: (id: string) => apiFetch<void>(`/api/v1/auth/sessions/${encodeURIComponent(id)}`, json("DELETE")),
  tokens: () => apiFetch<S["TokensOutputBody"]>("/api/v1/auth/tokens"),
  createToken: (name: string, expires_in_days: number) =>
    apiFetch<S["TokenCreateOutputBody"]>("/api/v1/auth/tokens", json("POST", { name, expires_in_days })),
  revokeToken: (id: string) => apiFetch<void>(`/api/v1/auth/tokens/${encodeURIComponent(id)}`, json("DELETE")),
  mfaEnroll: () => apiFetch<MFAEnrollment>("/api/v1/auth/mfa/enroll", json("POST")),
  mfaConfirm: (code: string) => apiFetch<S["MfaConfirmOutputBody"]>("/api/v1/auth/mfa/confirm", json("POST", { code })),
  mfaDisable: (password: string) => apiFetch<void>("/api/v1/auth/mfa/disable", json("POST", { password })),
  team: () => apiFetch<Team>("/api/v1/team"),
  updateTeam: (require_mfa: boolean) => apiFetch<Team>("/api/v1/team", json("PATCH", { require_mfa })),
  users: () => apiFetch<S["UsersOutputBody"]>("/api/v1/users"),
  createUser: (email: string, role: Role) => apiFetch<S["UserCreateOutputBody"]>("/api/v1/users", json("POST", { email, role })),
  updateUser: (id: string, change: { role?: Role; disabled?: boolean }) =>
    apiFetch<User>(`/api/v1/users/${encodeURIComponent(id)}`, json("PATCH", change)),
  resetPassword: (id: string) => apiFetch<S["PasswordResetOutputBody"]>(`/api/v1/users/${encodeURIComponent(id)}/reset-password`, json("POST")),
  revokeUserSessions: (id: string) => apiFetch<S["RevokedOutputBody"]>(`/api/v1/users/${encodeURIComponent(id)}/sessions`, json("DELETE")),
  vulnerabilities: (params: Record<string, string>) =>
    apiFetch<VulnerabilityList>("/api/v1/vulnerabilities?" + new URLSearchParams(params).toString()),
  vulnerability: (id: string) => apiFetch<VulnerabilityDetail>(`/api/v1/vulnerabilities/${encodeURIComponent(id)}`),
  setOccurrenceStatus: (id: number, status: "accepted" | "open", reason?: string) =>
    apiFetch<Occurrence>(`/api/v1/vulnerabilities/occurrences/${id}`, json("PATCH", { status, reason })),
  kevStatus: () => apiFetch<S["KevStatusOutputBody"]>("/api/v1/kev/status"),
  kevSync: () => apiFetch<KEVSyncResult>("/api/v1/kev/sync", json("POST")),
  // kevUpload loads a catalog file, for installs that cannot reach CISA.
  kevUpload: (file: File) => {
    const form = new FormData();
    form.append("file", file);
    return apiFetch<KEVSyncResult>("/api/v1/kev/upload", { method: "POST", body: form });
  },
  setSLA: (p: SLAPolicy) => apiFetch<SLAPolicy>("/api/v1/vulnerabilities/sla", json("PUT", p)),
  findings: (params: Record<string, string>) => apiFetch<FindingList>("/api/v1/findings?" + new URLSearchParams(params).toString()),
  finding: (id: number) => apiFetch<FindingDetail>(`/api/v1/findings/${id}`),
  overview: (query = "") => apiFetch<Overview>("/api/v1/posture/overview" + query),
  muteFinding: (id: number, kind: "mute" | "risk_accepted", reason: string, until?: string) =>
    apiFetch<void>(`/api/v1/findings/${id}/mute`, json("POST", { kind, reason, until })),
  muteRules: () => apiFetch<{ rules: MuteRule[] }>("/api/v1/mute-rules"),
  previewMuteRule: (body: Record<string, string>) => apiFetch<MutePreview>("/api/v1/mute-rules/preview", json("POST", body)),
  createMuteRule: (body: Record<string, string>) => apiFetch<{ rule: MuteRule; muted: number }>("/api/v1/mute-rules", json("POST", body)),
  deleteMuteRule: (id: string) => apiFetch<{ unmuted: number }>(`/api/v1/mute-rules/${encodeURIComponent(id)}`, json("DELETE")),
  unmuteFinding: (id: number) => apiFetch<void>(`/api/v1/findings/${id}/mute`, json("DELETE")),
  scanResults: (params: Record<string, string>) =>
    apiFetch<S["ListOutputBody"]>("/api/v1/scan-results?" + new URLSearchParams(params).toString()),
  importStatus: (id: string) => apiFetch<ScanResult>(`/api/v1/imports/${encodeURIComponent(id)}`),
  cloudAccounts: () => apiFetch<S["AccountListOutputBody"]>("/api/v1/cloud/accounts"),
  createCloudAccount: (p: AccountParams) => apiFetch<CloudAccount>("/api/v1/cloud/accounts", json("POST", p)),
  updateCloudAccount: (id: string, c: AccountChange) => apiFetch<CloudAccount>(`/api/v1/cloud/accounts/${encodeURIComponent(id)}`, json("PATCH", c)),
  deleteCloudAccount: (id: string) => apiFetch<void>(`/api/v1/cloud/accounts/${encodeURIComponent(id)}`, json("DELETE")),
  cloudAccountOnboarding: (id: string) => apiFetch<Onboarding>(`/api/v1/cloud/accounts/${encodeURIComponent(id)}/onboarding`),
  testCloudAccount: (id: string) => apiFetch<ConnectionTest>(`/api/v1/cloud/accounts/${encodeURIComponent(id)}/test`, json("POST")),
  cloudScan: (account_id: string, tools: string[], regions: string[]) =>
    apiFetch<ScanRun>("/api/v1/cloud/scan", json("POST", { account_id, tools, regions })),
  startScan: (body: { type: string; tools: string[]; targets: string[]; ports?: string }) => apiFetch<ScanRun>("/api/v1/scans", json("POST", body)),
  scanRuns: (params: Record<string, string>) => apiFetch<S["RunListOutputBody"]>("/api/v1/scans?" + new URLSearchParams(params).toString()),
  scanRun: (id: string) => apiFetch<ScanRun>(`/api/v1/scans/${encodeURIComponent(id)}`),
  cancelScan: (id: string) => apiFetch<ScanRun>(`/api/v1/scans/${encodeURIComponent(id)}/cancel`, json("POST")),
  artifactURL: (runID: string, subJobID: string) => `/api/v1/scans/${encodeURIComponent(runID)}/subjobs/${encodeURIComponent(subJobID)}/artifact`,
  schedules: (account_id?: string) => apiFetch<S["ScheduleListOutputBody"]>("/api/v1/scan-schedules" + (account_id ? `?account_id=${encodeURIComponent(account_id)}` : "")),
  createSchedule: (p: ScheduleParams) => apiFetch<Schedule>("/api/v1/scan-schedules", json("POST", p)),
  deleteSchedule: (id: string) => apiFetch<void>(`/api/v1/scan-schedules/${encodeURIComponent(id)}`, json("DELETE")),
  audit: (params: Record<string, string>) => apiFetch<S["AuditOutputBody"]>("/api/v1/audit?" + new URLSearchParams(params).toString()),
};

export const getSystemStatus = api.status;

// uploadReport posts a report with progress; XMLHttpRequest, because fetch
// cannot report upload progress.
export function uploadReport(file: File, format: string, onProgress: (fraction: number) => void): Promise<{ scan_id: string }> {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("POST", "/api/v1/imports" + (format ? `?format=${encodeURIComponent(format)}` : ""));
    xhr.setRequestHeader("X-CSRF-Token", csrfToken);
    xhr.upload.onprogress = (e) => e.lengthComputable && onProgress(e.loaded / e.total);
    xhr.onload = () => {
      let body: unknown = {};
      try {
        body = JSON.parse(xhr.responseText);
      } catch {
        body = { detail: xhr.responseText.slice(0, 200) };
      }
      if (xhr.status === 202) resolve(body as { scan_id: string });
      else reject(new ApiError(xhr.status, body as Problem));
    };
    xhr.onerror = () => reject(new Error("upload failed: network error"));
    const form = new FormData();
    form.append("file", file);
    xhr.send(form);
  });
}
