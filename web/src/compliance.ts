// The compliance area's API calls and the logic its pages share: status
// colours, score formatting, the requirement tree and its filter, links
// into the findings list. Kept apart from client.ts, which other pages own.
import type { components } from "./api/schema";
import { apiFetch, ApiError, type Problem } from "./api/client";
import { findingsHref, OPEN_STATUSES } from "./links";

type S = components["schemas"];
export type ComplianceOverview = S["ComplianceOverview"];
export type FrameworkSummary = S["FrameworkSummary"];
export type FrameworkDetail = S["FrameworkDetail"];
export type FrameworkNode = S["FrameworkNode"];
export type ControlDetail = S["ControlDetail"];
export type ControlRef = S["ControlRef"];
export type CheckEvidence = S["CheckEvidence"];
export type Attestation = S["Attestation"];
export type ContentImportResult = S["ContentImportResult"];
export type ImportItem = S["ImportItem"];
export type SyncStatus = S["SyncStatus"];
export type SyncResult = S["SyncResult"];
export type DomainScore = S["DomainScore"];
export type Status = FrameworkNode["status"];

export const STATUSES: Status[] = ["failing", "partial", "passing", "manual", "not_assessed"];

const STATUS_LABEL: Record<Status, string> = {
  passing: "Passing",
  failing: "Failing",
  partial: "Partial",
  manual: "Manual",
  not_assessed: "Not assessed",
};

const STATUS_COLOR: Record<Status, string> = {
  passing: "green",
  failing: "red",
  partial: "yellow",
  manual: "blue",
  not_assessed: "gray",
};

export function statusLabel(s: string): string {
  return STATUS_LABEL[s as Status] ?? s;
}

export function statusColor(s: string): string {
  return STATUS_COLOR[s as Status] ?? "gray";
}

// formatScore shows a score as a whole percentage ("80%", "66.7%" when it
// is not whole), or a dash when nothing is assessed.
export function formatScore(score: number | null | undefined): string {
  if (score === null || score === undefined || !Number.isFinite(score)) return "—";
  const r = Math.round(score * 10) / 10;
  return `${Number.isInteger(r) ? r.toFixed(0) : r.toFixed(1)}%`;
}

// scoreColor colours a score on a red–green scale for rings and the heatmap;
// gray when nothing is assessed.
export function scoreColor(score: number | null | undefined): string {
  if (score === null || score === undefined || !Number.isFinite(score)) return "gray.4";
  if (score >= 90) return "green.7";
  if (score >= 75) return "green.5";
  if (score >= 50) return "yellow.6";
  if (score >= 25) return "orange.6";
  return "red.7";
}

// countsLine sums a status-count map in the order the pages show it.
export function statusCounts(counts: Record<string, number> | undefined): { status: Status; n: number }[] {
  return STATUSES.map((s) => ({ status: s, n: counts?.[s] ?? 0 }));
}

export interface TreeNode {
  node: FrameworkNode;
  children: TreeNode[];
}

// buildTree turns the API's document-ordered node list into a forest. A
// node whose parent is not in the list becomes a root, so nothing is lost.
export function buildTree(nodes: FrameworkNode[]): TreeNode[] {
  const byUrn = new Map<string, TreeNode>();
  for (const n of nodes) byUrn.set(n.urn, { node: n, children: [] });
  const roots: TreeNode[] = [];
  for (const n of nodes) {
    const t = byUrn.get(n.urn)!;
    const parent = n.parent_urn ? byUrn.get(n.parent_urn) : undefined;
    if (parent && parent !== t) parent.children.push(t);
    else roots.push(t);
  }
  return roots;
}

export interface TreeFilter {
  statuses: string[];
  text: string;
}

function nodeMatches(n: FrameworkNode, f: TreeFilter): boolean {
  if (f.statuses.length > 0 && !(n.assessable && f.statuses.includes(n.status))) return false;
  const q = f.text.trim().toLowerCase();
  if (q && !`${n.ref_id} ${n.name} ${n.description}`.toLowerCase().includes(q)) return false;
  return true;
}

export function filterActive(f: TreeFilter): boolean {
  return f.statuses.length > 0 || f.text.trim() !== "";
}

// filterTree keeps the nodes that match (an assessable requirement of one of
// the statuses whose reference, name or description holds the text) and
// their ancestors; a match keeps its whole subtree when only text is asked.
export function filterTree(roots: TreeNode[], f: TreeFilter): TreeNode[] {
  if (!filterActive(f)) return roots;
  const out: TreeNode[] = [];
  for (const r of roots) {
    const kids = filterTree(r.children, f);
    if (nodeMatches(r.node, f)) out.push({ node: r.node, children: f.statuses.length === 0 ? r.children : kids });
    else if (kids.length > 0) out.push({ node: r.node, children: kids });
  }
  return out;
}

// flatten lists the visible rows of a tree, given which URNs are expanded.
export function flatten(roots: TreeNode[], expanded: Set<string>, level = 0): { t: TreeNode; level: number }[] {
  const rows: { t: TreeNode; level: number }[] = [];
  for (const r of roots) {
    rows.push({ t: r, level });
    if (r.children.length > 0 && expanded.has(r.node.urn)) rows.push(...flatten(r.children, expanded, level + 1));
  }
  return rows;
}

// allUrns lists every node with children, to expand a filtered tree.
export function parentUrns(roots: TreeNode[]): string[] {
  const out: string[] = [];
  const walk = (ts: TreeNode[]) => {
    for (const t of ts) {
      if (t.children.length > 0) {
        out.push(t.node.urn);
        walk(t.children);
      }
    }
  };
  walk(roots);
  return out;
}

// checkFindingsHref links to the open findings of one check.
export function checkFindingsHref(checkID: string, tool?: string): string {
  return findingsHref({ check: checkID, tool: tool || undefined, status: OPEN_STATUSES });
}

// sortEvidence puts the checks that fail first, then those with any
// result, then the ones with none, each by check ID.
export function sortEvidence(list: CheckEvidence[]): CheckEvidence[] {
  const rank = (e: CheckEvidence) => (e.failed > 0 ? 0 : e.passed + e.muted + e.manual > 0 ? 1 : 2);
  return [...list].sort((a, b) => rank(a) - rank(b) || b.failed - a.failed || a.check_id.localeCompare(b.check_id));
}

export function frameworkHref(id: string, focus?: string): string {
  return `/compliance/frameworks/${encodeURIComponent(id)}` + (focus ? `?open=${encodeURIComponent(focus)}` : "");
}

// controlHref names the control in the query string: a URN or reference
// has dots (scf-2025.2.2, GOV-01.1), and the server answers a path whose
// last segment looks like a file name with 404 instead of the app.
export function controlHref(urnOrRef: string): string {
  return `/compliance/controls?id=${encodeURIComponent(urnOrRef)}`;
}

// isExpired says whether an attestation has lapsed, by the server's flag or
// its expiry against now.
export function isExpired(a: Pick<Attestation, "expired" | "expires_at">, now = new Date()): boolean {
  return a.expired || new Date(a.expires_at).getTime() <= now.getTime();
}

// expiryFromDate turns a date input's YYYY-MM-DD into the end of that day,
// UTC, as RFC 3339.
export function expiryFromDate(d: string): string {
  return `${d}T23:59:59Z`;
}

export function formatWhen(iso: string | null | undefined): string {
  if (!iso) return "never";
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return d.toISOString().replace("T", " ").slice(0, 16) + " UTC";
}

const json = (method: string, body?: unknown): RequestInit => ({ method, body: body === undefined ? undefined : JSON.stringify(body) });
const id = encodeURIComponent;

export const complianceApi = {
  overview: (days = 30) => apiFetch<ComplianceOverview>(`/api/v1/compliance/overview?days=${days}`),
  frameworks: () => apiFetch<S["FrameworksOutputBody"]>("/api/v1/compliance/frameworks"),
  framework: (fid: string) => apiFetch<FrameworkDetail>(`/api/v1/compliance/frameworks/${id(fid)}`),
  exportURL: (fid: string, format: "csv" | "xlsx") => `/api/v1/compliance/frameworks/${id(fid)}/export?format=${format}`,
  control: (cid: string) => apiFetch<ControlDetail>(`/api/v1/compliance/controls/${id(cid)}`),
  syncStatus: () => apiFetch<SyncStatus>("/api/v1/compliance/sync"),
  sync: () => apiFetch<SyncResult>("/api/v1/compliance-engine/sync", json("POST", {})),
  attestations: (control?: string) =>
    apiFetch<S["AttestationListOutputBody"]>("/api/v1/compliance/attestations" + (control ? `?control=${id(control)}` : "")),
  deleteAttestation: (aid: string) => apiFetch<void>(`/api/v1/compliance/attestations/${id(aid)}`, json("DELETE")),
  evidenceURL: (aid: string) => `/api/v1/compliance/attestations/${id(aid)}/evidence`,
};

// postForm sends a multipart form with upload progress (fetch cannot
// report it) and the CSRF token, and parses the JSON answer or problem.
export function postForm<T>(path: string, form: FormData, csrf: string, onProgress?: (fraction: number) => void): Promise<T> {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("POST", path);
    xhr.setRequestHeader("X-CSRF-Token", csrf);
    xhr.setRequestHeader("Accept", "application/json");
    if (onProgress) xhr.upload.onprogress = (e) => e.lengthComputable && onProgress(e.loaded / e.total);
    xhr.onload = () => {
      let body: unknown = {};
      try {
        body = xhr.responseText ? JSON.parse(xhr.responseText) : {};
      } catch {
        body = { detail: xhr.responseText.slice(0, 200) };
      }
      if (xhr.status >= 200 && xhr.status < 300) resolve(body as T);
      else reject(new ApiError(xhr.status, body as Problem));
    };
    xhr.onerror = () => reject(new Error("upload failed: network error"));
    xhr.send(form);
  });
}

// importPath picks the route for a content file: the SCF route for a
// workbook (its errors are about workbooks), the library route otherwise.
export function importPath(fileName: string): string {
  return /\.xlsx$/i.test(fileName) ? "/api/v1/compliance/scf/import" : "/api/v1/compliance/frameworks/import";
}
