// The mute rules page's logic: a rule's matchers, read from and written to
// the page's query string (so that "mute everything like this" on a
// finding is a link), and the request body the API takes.
import { untilFromDate } from "./mute";

export const RULE_FIELDS = ["check_pattern", "resource_pattern", "account_uid", "region", "tool", "tag"] as const;
export type RuleField = (typeof RULE_FIELDS)[number];
export type RuleMatchers = Record<RuleField, string>;

export const RULE_LABELS: Record<RuleField, string> = {
  check_pattern: "Check (glob)",
  resource_pattern: "Resource UID (glob)",
  account_uid: "Account",
  region: "Region",
  tool: "Tool",
  tag: "Resource tag (key=value or key)",
};

export function emptyMatchers(): RuleMatchers {
  return { check_pattern: "", resource_pattern: "", account_uid: "", region: "", tool: "", tag: "" };
}

// matchersFromSearch reads a rule's matchers from a query string (unknown
// parameters are ignored).
export function matchersFromSearch(search: URLSearchParams): RuleMatchers {
  const m = emptyMatchers();
  for (const k of RULE_FIELDS) m[k] = (search.get(k) ?? "").trim();
  return m;
}

// The subset of a finding a rule can be made from.
export interface RuleSource {
  check_id: string;
  tool: string;
  account_uid: string;
  region: string;
  resource_uid: string;
}

// likeThisHref links to the rules page with a rule that mutes every finding
// of the same check in the same account (and region, when there is one);
// withResource narrows it to the finding's own resource.
export function likeThisHref(f: RuleSource, withResource = false): string {
  const p = new URLSearchParams();
  if (f.check_id) p.set("check_pattern", f.check_id);
  if (f.tool) p.set("tool", f.tool);
  if (f.account_uid) p.set("account_uid", f.account_uid);
  if (f.region) p.set("region", f.region);
  if (withResource && f.resource_uid) p.set("resource_pattern", f.resource_uid);
  return `/mute-rules?${p.toString()}`;
}

// hasMatcher says whether the rule names anything: the API refuses a rule
// without one, and a bare "*" check that would mute everything.
export function hasMatcher(m: RuleMatchers): boolean {
  const named = RULE_FIELDS.filter((k) => m[k].trim() !== "");
  if (named.length === 0) return false;
  return !(named.length === 1 && named[0] === "check_pattern" && m.check_pattern.trim() === "*");
}

// ruleBody is the request of a preview (without reason) or a creation.
export function ruleBody(m: RuleMatchers, reason?: string, expires?: string): Record<string, string> {
  const body: Record<string, string> = {};
  for (const k of RULE_FIELDS) if (m[k].trim()) body[k] = m[k].trim();
  if (reason !== undefined) body.reason = reason.trim();
  const until = expires ? untilFromDate(expires) : undefined;
  if (until) body.expires_at = until;
  return body;
}
