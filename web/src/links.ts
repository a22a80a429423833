// Links into the findings list. The findings page reads its filters from
// the query string (severity, status, result, tool, provider, service,
// account, region, check, resource, scan, q; lists comma-separated), so a
// dashboard tile or a compliance control's check is a URL.

export type FindingsFilter = Partial<Record<"severity" | "status" | "result" | "tool" | "provider" | "service" | "account" | "region" | "check" | "resource" | "scan" | "q", string | string[]>>;

// The statuses the posture overview counts as open.
export const OPEN_STATUSES = ["open", "reopened"];

const ORDER: (keyof FindingsFilter)[] = ["severity", "status", "result", "tool", "provider", "service", "account", "region", "check", "resource", "scan", "q"];

export function findingsHref(filter: FindingsFilter = {}): string {
  const parts: string[] = [];
  for (const k of ORDER) {
    const v = filter[k];
    const list = (Array.isArray(v) ? v : v === undefined ? [] : [v]).filter((s) => s !== "");
    if (list.length) parts.push(`${k}=${list.map(encodeURIComponent).join(",")}`);
  }
  return parts.length ? `/findings?${parts.join("&")}` : "/findings";
}

// openFindingsHref links to the open failures matching one more filter:
// open or reopened with a failing result (a Prowler MANUAL result needs a
// person to judge and is not a failure).
export function openFindingsHref(filter: FindingsFilter = {}): string {
  return findingsHref({ ...filter, status: OPEN_STATUSES, result: filter.result ?? "fail" });
}
