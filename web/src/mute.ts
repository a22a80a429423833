// How a muted finding came to be muted. The findings store records the
// kind (a person's mute, a risk acceptance, a mute rule), the reason, who
// and until when; the API returns them on a finding as the optional fields
// below. A finding without them is shown as a plain mute.

export interface MuteFields {
  status: string;
  mute_kind?: string | null;
  mute_rule_id?: string | null;
  muted_reason?: string | null;
  muted_by?: string | null;
  muted_until?: string | null;
}

export interface MuteInfo {
  kind: "mute" | "risk_accepted" | "rule" | "tool";
  label: string; // what the status badge says
  color: string;
  reason: string;
  by: string;
  until: Date | null;
  expired: boolean;
  // Whether the server said how the finding was muted; without it, nothing
  // is known of the reason or the end, which is not the same as none.
  detailed: boolean;
}

const KINDS: Record<MuteInfo["kind"], { label: string; color: string }> = {
  mute: { label: "muted", color: "gray" },
  risk_accepted: { label: "risk accepted", color: "violet" },
  rule: { label: "muted by rule", color: "gray" },
  // The report itself: a vendor's not_affected, a Checkov skip.
  tool: { label: "suppressed", color: "gray" },
};

// muteInfo returns the mute of a finding, or null when it is not muted.
export function muteInfo(f: MuteFields, now: Date = new Date()): MuteInfo | null {
  if (f.status !== "muted") return null;
  const kind: MuteInfo["kind"] =
    f.mute_kind === "risk_accepted" || f.mute_kind === "rule" || f.mute_kind === "tool" ? f.mute_kind : "mute";
  const until = f.muted_until ? new Date(f.muted_until) : null;
  const valid = until && !Number.isNaN(until.getTime()) ? until : null;
  return {
    kind,
    ...KINDS[kind],
    reason: f.muted_reason ?? "",
    by: f.muted_by ?? "",
    until: valid,
    expired: valid !== null && valid.getTime() <= now.getTime(),
    detailed: !!f.mute_kind,
  };
}

// muteSentence says the mute in one line: "Risk accepted by a@b.c until
// 31 Dec 2026: legacy system, replaced in Q1".
export function muteSentence(m: MuteInfo, formatDate: (d: Date) => string = (d) => d.toLocaleDateString()): string {
  if (m.kind === "tool") {
    // The report's own word (a vendor status, a skip comment), for good.
    return `Suppressed by ${m.by || "the report"}` + (m.reason ? `: ${m.reason}` : "");
  }
  let s = m.kind === "risk_accepted" ? "Risk accepted" : m.kind === "rule" ? "Muted by a mute rule" : "Muted";
  if (!m.detailed) return s;
  if (m.by) s += ` by ${m.by}`;
  if (m.until) s += m.expired ? ` (expired ${formatDate(m.until)})` : ` until ${formatDate(m.until)}`;
  else s += ", no end date";
  if (m.reason) s += `: ${m.reason}`;
  return s;
}

// untilFromDate turns a date input's value (YYYY-MM-DD, local) into the
// API's until: the end of that day, so "until 31 December" includes it.
export function untilFromDate(value: string): string | undefined {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(value)) return undefined;
  const d = new Date(`${value}T23:59:59`);
  return Number.isNaN(d.getTime()) ? undefined : d.toISOString();
}

// todayISO is today's local date as a date input's value, the earliest expiry.
export function todayISO(now: Date = new Date()): string {
  const p = (n: number) => String(n).padStart(2, "0");
  return `${now.getFullYear()}-${p(now.getMonth() + 1)}-${p(now.getDate())}`;
}
