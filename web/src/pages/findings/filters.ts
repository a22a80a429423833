// The findings page keeps its filters, sort and order in the URL, with the
// API's query parameter names (a dashboard link such as
// /findings?provider=aws&account=1&region=eu-west-1&result=fail&status=open,reopened
// is a filter). A URL with no filter at all opens on the default view, the
// open failures; "all=1" is the view with every filter cleared.

export const LIST_FILTERS = [
  "severity", "status", "result", "provider", "tool", "service", "account", "region", "check", "resource", "scan", "q",
  "assignee", "triage", "new_since_previous_scan", "business_tier",
] as const;
export type FilterKey = (typeof LIST_FILTERS)[number];

// The default view: open failures. A Prowler MANUAL result is not a
// failure; result=manual shows those.
export const DEFAULT_VIEW: Partial<Record<FilterKey, string>> = { status: "open,reopened", result: "fail" };

// business_tier: the tightest business tier first, the most severe first
// within a tier (ascending, like the title).
export const SORTS = ["severity", "last_seen", "first_seen", "title", "business_tier"] as const;
export type SortKey = (typeof SORTS)[number];

// Filters given as chips, with their label.
export const CHIP_LABELS: Record<FilterKey, string> = {
  severity: "severity", status: "status", result: "result", provider: "provider", tool: "tool", service: "service",
  account: "account", region: "region", check: "check", resource: "resource", scan: "scan", q: "search",
  assignee: "assignee", triage: "triage", new_since_previous_scan: "new since the previous scan", business_tier: "business tier",
};

// ascendingByDefault: sorts whose first click orders ascending.
const ascendingByDefault = (s: SortKey) => s === "title" || s === "business_tier";

// effectiveFilters is what the page filters by: the URL's filters, or the
// default view when the URL names none (and does not say all=1).
export function effectiveFilters(params: URLSearchParams): Partial<Record<FilterKey, string>> {
  const out: Partial<Record<FilterKey, string>> = {};
  for (const k of LIST_FILTERS) {
    const v = params.get(k);
    if (v) out[k] = v;
  }
  if (Object.keys(out).length === 0 && params.get("all") !== "1") return { ...DEFAULT_VIEW };
  return out;
}

// isDefaultView tells whether the page shows the default view because the
// URL names no filter.
export function isDefaultView(params: URLSearchParams): boolean {
  return params.get("all") !== "1" && LIST_FILTERS.every((k) => !params.get(k));
}

// sortOf reads the sort and its direction (the API's defaults: severity,
// descending; title ascending).
export function sortOf(params: URLSearchParams): { sort: SortKey; desc: boolean } {
  const s = params.get("sort");
  const sort: SortKey = (SORTS as readonly string[]).includes(s ?? "") ? (s as SortKey) : "severity";
  const o = params.get("order");
  return { sort, desc: o ? o === "desc" : !ascendingByDefault(sort) };
}

// listQuery is the API query of the page's list.
export function listQuery(params: URLSearchParams, cursor?: string): Record<string, string> {
  const q: Record<string, string> = { limit: "50", facets: "true", ...effectiveFilters(params) } as Record<string, string>;
  const { sort, desc } = sortOf(params);
  if (params.get("sort")) q.sort = sort;
  if (params.get("order")) q.order = desc ? "desc" : "asc";
  if (cursor) q.cursor = cursor;
  return q;
}

// exportHref is the export of the current filter and sort.
export function exportHref(params: URLSearchParams, format: "csv" | "json"): string {
  const q = new URLSearchParams({ format, ...effectiveFilters(params) } as Record<string, string>);
  return "/api/v1/findings/export?" + q.toString();
}

// withFilter returns the URL parameters with filter k set to values (none
// clears it). The default view's filters become explicit first, so that
// changing one keeps the others; clearing the last one shows everything.
export function withFilter(params: URLSearchParams, k: FilterKey, values: string[]): URLSearchParams {
  const next = new URLSearchParams(params);
  if (isDefaultView(params)) for (const [dk, dv] of Object.entries(DEFAULT_VIEW)) next.set(dk, dv as string);
  next.delete("all");
  if (values.length) next.set(k, values.join(","));
  else next.delete(k);
  if (LIST_FILTERS.every((f) => !next.get(f))) next.set("all", "1");
  return next;
}

// withSort is the URL after a click on the header of column s: the same
// column flips the direction, another starts at its default.
export function withSort(params: URLSearchParams, s: SortKey): URLSearchParams {
  const next = new URLSearchParams(params);
  const cur = sortOf(params);
  const desc = cur.sort === s ? !cur.desc : !ascendingByDefault(s);
  next.set("sort", s);
  next.set("order", desc ? "desc" : "asc");
  return next;
}

// clearedFilters is the URL with every filter cleared (the sort kept).
export function clearedFilters(params: URLSearchParams): URLSearchParams {
  const next = new URLSearchParams(params);
  for (const k of LIST_FILTERS) next.delete(k);
  next.set("all", "1");
  return next;
}

// defaultView is the URL back on the default view (the sort kept).
export function defaultView(params: URLSearchParams): URLSearchParams {
  const next = new URLSearchParams(params);
  for (const k of LIST_FILTERS) next.delete(k);
  next.delete("all");
  return next;
}

// chips lists the filters in effect, one chip per filter.
export function chips(params: URLSearchParams): { key: FilterKey; label: string; value: string }[] {
  const f = effectiveFilters(params);
  return LIST_FILTERS.filter((k) => f[k]).map((k) => ({
    key: k, label: CHIP_LABELS[k], value: k === "new_since_previous_scan" ? "yes" : (f[k] as string).split(",").join(", "),
  }));
}

// bulkFilter is the current filter as the bulk endpoint's filter object.
export function bulkFilter(params: URLSearchParams): Record<string, string[] | number[] | string | boolean> {
  const f = effectiveFilters(params);
  const out: Record<string, string[] | number[] | string | boolean> = {};
  for (const [k, v] of Object.entries(f)) {
    if (!v) continue;
    if (k === "new_since_previous_scan") out[k] = v === "true";
    else if (k === "business_tier") out[k] = v.split(",").map(Number);
    else if (k === "resource" || k === "scan" || k === "q") out[k] = v;
    else out[k] = v.split(",");
  }
  return out;
}
