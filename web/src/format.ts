// Small formatters shared by pages.

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return "—";
  const s = Math.floor(seconds);
  const d = Math.floor(s / 86400);
  const h = Math.floor((s % 86400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  if (d > 0) return `${d}d ${h}h`;
  if (h > 0) return `${h}h ${m}m`;
  if (m > 0) return `${m}m ${s % 60}s`;
  return `${s}s`;
}

export function shortCommit(commit: string | undefined): string {
  return commit ? commit.slice(0, 12) : "unknown";
}

// formatRelative says how far an instant is from now: "3h ago", "in 2d",
// "just now" within a minute; "—" without an instant.
export function formatRelative(iso: string | null | undefined, now: number = Date.now()): string {
  if (!iso) return "—";
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return "—";
  const diff = Math.round((t - now) / 1000);
  if (Math.abs(diff) < 60) return "just now";
  const span = formatDuration(Math.abs(diff)).split(" ")[0];
  return diff < 0 ? `${span} ago` : `in ${span}`;
}
