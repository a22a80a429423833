// One severity palette for the whole UI: badges, dashboard tiles and
// charts all read it, so "high" is the same colour everywhere.

export const SEVERITIES = ["critical", "high", "medium", "low", "informational"] as const;
export type Severity = (typeof SEVERITIES)[number];

// Mantine theme colours (name.shade): critical dark red, high red, medium
// orange, low blue, informational gray.
const palette: Record<Severity, string> = {
  critical: "red.9",
  high: "red.6",
  medium: "orange.5",
  low: "blue.6",
  informational: "gray.6",
};

// severityColor is the colour of a severity; anything unknown (OCSF's
// "unknown", "fatal", "other") is a neutral gray rather than an alarm.
export function severityColor(severity: string | null | undefined): string {
  const s = (severity ?? "").toLowerCase();
  if (s === "info") return palette.informational;
  return (palette as Record<string, string>)[s] ?? "gray.5";
}

// severityRank orders severities from the most to the least severe.
export function severityRank(severity: string): number {
  const i = SEVERITIES.indexOf(severity as Severity);
  return i < 0 ? SEVERITIES.length : i;
}
