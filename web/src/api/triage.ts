// Findings triage: bulk actions, triage states, assignees, comments, risk
// acceptances and their approval (internal/findings/triage_routes.go).
import { apiFetch } from "./client";
import type { components } from "./schema";

type S = components["schemas"];
export type BulkRequest = S["BulkInputBody"];
export type BulkResult = S["BulkResult"];
export type RiskAcceptance = S["RiskAcceptance"];
export type Comment = S["Comment"];
export type AssignableUser = S["AssignableUser"];
export type TriageSettings = S["TriageSettings"];
export type TriageState = "false_positive" | "out_of_scope" | "none";

const post = (body?: unknown): RequestInit => ({ method: "POST", body: body === undefined ? undefined : JSON.stringify(body) });

export const triageApi = {
  bulk: (req: BulkRequest) => apiFetch<BulkResult>("/api/v1/findings/bulk", post(req)),
  setTriage: (id: number, state: TriageState, reason: string) => apiFetch<void>(`/api/v1/findings/${id}/triage`, post({ state, reason })),
  assign: (id: number, assignee_id: string) =>
    apiFetch<void>(`/api/v1/findings/${id}/assignee`, { method: "PUT", body: JSON.stringify({ assignee_id }) }),
  comment: (id: number, body: string) => apiFetch<Comment>(`/api/v1/findings/${id}/comments`, post({ body })),
  acceptRisk: (id: number, reason: string, expires_at?: string) =>
    apiFetch<RiskAcceptance>(`/api/v1/findings/${id}/risk-acceptance`, post({ reason, expires_at })),
  decideRisk: (id: number, approve: boolean, note: string) =>
    apiFetch<RiskAcceptance>(`/api/v1/findings/${id}/risk-acceptance/${approve ? "approve" : "reject"}`, post({ note })),
  reopen: (id: number) => apiFetch<void>(`/api/v1/findings/${id}/reopen`, post()),
  assignees: () => apiFetch<{ users: AssignableUser[] }>("/api/v1/triage/assignees"),
  settings: () => apiFetch<TriageSettings>("/api/v1/triage/settings"),
  setSettings: (risk_acceptance_requires_approval: boolean) =>
    apiFetch<TriageSettings>("/api/v1/triage/settings", { method: "PUT", body: JSON.stringify({ risk_acceptance_requires_approval }) }),
};

// The roles that approve risk acceptances (besides the requester's own).
export const RISK_APPROVERS = ["ADMIN", "SECURITY_MANAGER", "COMPLIANCE_OFFICER"];

export const TRIAGE_LABELS: Record<string, string> = {
  false_positive: "false positive",
  out_of_scope: "out of scope",
};
