// The posture dashboard's logic: its filter lives in the URL (provider,
// account, region; lists comma-separated, as the findings page reads them),
// so a filtered dashboard is a link and every count on it links to the
// findings it counts under the same filter.
import { findingsHref, openFindingsHref, type FindingsFilter } from "./links";

export const POSTURE_DIMENSIONS = ["provider", "account", "region"] as const;
export type PostureDimension = (typeof POSTURE_DIMENSIONS)[number];
export type PostureFilter = Record<PostureDimension, string[]>;

// parsePostureFilter reads the filter from a query string.
export function parsePostureFilter(search: URLSearchParams): PostureFilter {
  const list = (k: string) => (search.get(k) ?? "").split(",").map((s) => s.trim()).filter(Boolean);
  return { provider: list("provider"), account: list("account"), region: list("region") };
}

// postureQuery is the filter as the overview API's query string ("" when empty).
export function postureQuery(f: PostureFilter): string {
  const parts = POSTURE_DIMENSIONS.filter((k) => f[k].length).map((k) => `${k}=${f[k].map(encodeURIComponent).join(",")}`);
  return parts.length ? `?${parts.join("&")}` : "";
}

// A row of a pass-rate table is keyed by one of these dimensions.
export type Breakdown = "provider" | "account" | "region" | "service" | "check";

// rowFilter is the findings filter of one row under the dashboard's filter:
// the row's key, and its provider where the key alone could be ambiguous
// (a service or region name shared by two clouds).
export function rowFilter(f: PostureFilter, dim: Breakdown, key: string, provider: string): FindingsFilter {
  const out: FindingsFilter = { provider: f.provider, account: f.account, region: f.region };
  if (dim === "check") {
    out.check = key;
  } else {
    out[dim] = key;
  }
  if (provider && dim !== "check") out.provider = provider;
  return out;
}

// failuresHref and passesHref link to a row's open failures and its passing
// resources; manualHref to its open MANUAL results.
export function failuresHref(filter: FindingsFilter): string {
  return openFindingsHref(filter);
}
export function passesHref(filter: FindingsFilter): string {
  return findingsHref({ ...filter, status: "resolved", result: "pass" });
}
export function manualHref(filter: FindingsFilter): string {
  return openFindingsHref({ ...filter, result: "manual" });
}

// formatRate shows a pass rate as a whole percentage, "-" when nothing was
// judged; 99.6% shows as 99%, not 100%, so that 100% means every check passed.
export function formatRate(rate: number | null | undefined): string {
  if (rate === null || rate === undefined) return "-";
  return `${Math.floor(rate * 100)}%`;
}

// rateColor: green at 90% and above, orange from 60%, red below.
export function rateColor(rate: number | null | undefined): string {
  if (rate === null || rate === undefined) return "gray.5";
  return rate >= 0.9 ? "green.6" : rate >= 0.6 ? "orange.5" : "red.6";
}
