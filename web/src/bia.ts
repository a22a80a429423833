// The business impact area's API calls and the logic its pages share.
import type { components } from "./api/schema";
import { apiFetch } from "./api/client";

type S = components["schemas"];
export type Process = S["Process"];
export type BIARecord = S["Record"];
export type BIAVersion = S["Version"];
export type Transition = S["Transition"];
export type BIASettings = S["Settings"];
export type Dependency = S["Dependency"];
export type Analytics = S["Analytics"];
export type Exposure = S["Exposure"];
export type BIAStatus = Process["status"];
export type Action = S["BiaTransitionInputBody"]["action"];

const json = (method: string, body?: unknown, headers?: Record<string, string>): RequestInit => ({
  method,
  body: body === undefined ? undefined : JSON.stringify(body),
  headers,
});

// The ETag of a process, sent back as If-Match so a stale edit is refused.
export const etag = (p: Process) => `"${p.id}-r${p.revision}"`;

// writable drops what the server sets itself.
function writable(r: BIARecord): BIARecord {
  const { last_reviewed_at: _ignored, ...rest } = r as BIARecord & { last_reviewed_at?: string };
  return rest as BIARecord;
}

export const biaApi = {
  list: () => apiFetch<S["BiaListOutputBody"]>("/api/v1/bia"),
  get: (id: string) => apiFetch<Process>(`/api/v1/bia/${encodeURIComponent(id)}`),
  create: (r: BIARecord) => apiFetch<Process>("/api/v1/bia", json("POST", writable(r))),
  update: (p: Process, r: BIARecord) =>
    apiFetch<Process>(`/api/v1/bia/${encodeURIComponent(p.id)}`, json("PUT", writable(r), { "If-Match": etag(p) })),
  remove: (id: string) => apiFetch<void>(`/api/v1/bia/${encodeURIComponent(id)}`, json("DELETE")),
  transition: (p: Process, action: Action, comment: string) =>
    apiFetch<Process>(`/api/v1/bia/${encodeURIComponent(p.id)}/transitions`, json("POST", { action, comment }, { "If-Match": etag(p) })),
  versions: (id: string) => apiFetch<S["BiaVersionsOutputBody"]>(`/api/v1/bia/${encodeURIComponent(id)}/versions`),
  dependencies: (id: string) => apiFetch<S["BiaDependenciesOutputBody"]>(`/api/v1/bia/${encodeURIComponent(id)}/dependencies`),
  analytics: () => apiFetch<Analytics>("/api/v1/bia/analytics"),
  settings: () => apiFetch<BIASettings>("/api/v1/bia/settings"),
};

const STATUS_LABEL: Record<string, string> = {
  draft: "Draft",
  in_review: "In review",
  returned: "Returned",
  approved: "Approved",
  superseded: "Superseded",
  archived: "Archived",
};

const STATUS_COLOR: Record<string, string> = {
  draft: "gray",
  in_review: "blue",
  returned: "orange",
  approved: "green",
  superseded: "dark",
  archived: "dark",
};

export const statusLabel = (s: string) => STATUS_LABEL[s] ?? s;
export const statusColor = (s: string) => STATUS_COLOR[s] ?? "gray";

export const TIER_COLORS = ["red", "orange", "yellow", "blue", "gray"];
export const tierColor = (t: number) => TIER_COLORS[Math.min(Math.max(t, 1), 5) - 1];

export const DEPENDENCY_KINDS: { value: Dependency["kind"]; label: string; placeholder: string }[] = [
  { value: "cloud_account", label: "Cloud account", placeholder: "111122223333" },
  { value: "resource", label: "Resource UID / ARN", placeholder: "arn:aws:rds:eu-west-1:111122223333:db:payments" },
  { value: "tag", label: "Tag selector", placeholder: "app=payments" },
  { value: "network_host", label: "Network host", placeholder: "10.0.0.5 or db.internal" },
  { value: "container_image", label: "Container image", placeholder: "registry/app:1.2" },
  { value: "vendor", label: "Vendor", placeholder: "Stripe" },
  { value: "person", label: "Person", placeholder: "On-call DBA" },
  { value: "process", label: "Another process", placeholder: "" },
];

export const kindLabel = (k: string) => DEPENDENCY_KINDS.find((d) => d.value === k)?.label ?? k;

// hours shows an objective in hours, or a dash when it is not set.
export function hours(v: number | null | undefined): string {
  if (v === null || v === undefined) return "—";
  return `${Number.isInteger(v) ? v : v.toFixed(2).replace(/0+$/, "")} h`;
}

export function money(v: number): string {
  return v.toLocaleString(undefined, { maximumFractionDigits: 0 });
}

// Which lifecycle actions a role may offer on a status. The server decides
// (and refuses an author's approval); this only hides buttons that would fail.
export function actionsFor(status: string, role: string, canManage: boolean): Action[] {
  const out: Action[] = [];
  const approver = role === "SECURITY_MANAGER" || role === "COMPLIANCE_OFFICER";
  if (status === "draft" && canManage) out.push("submit");
  if (status === "in_review" && approver) out.push("approve", "return");
  if (status === "returned" && canManage) out.push("revise");
  if (status !== "archived" && role === "ADMIN") out.push("archive");
  return out;
}

export const ACTION_LABEL: Record<Action, string> = {
  submit: "Submit for review",
  approve: "Approve",
  return: "Return with comment",
  revise: "Back to draft",
  archive: "Archive",
};

// emptyRecord is a new analysis: tier 3, owned by its author.
export function emptyRecord(ownerID: string): BIARecord {
  return { name: "", tier: 3, owner_id: ownerID, impacts: {}, dependencies: [] } as BIARecord;
}
