import { Badge } from "@mantine/core";

export const severityColor: Record<string, string> = {
  critical: "red.9",
  high: "red",
  medium: "orange",
  low: "yellow",
  informational: "blue",
  unknown: "gray",
};

export function SeverityBadge({ severity }: { severity: string }) {
  return (
    <Badge color={severityColor[severity] ?? "gray"} variant="filled" size="sm" miw="max-content">
      {severity}
    </Badge>
  );
}

export const statusColor: Record<string, string> = { open: "red", reopened: "orange", resolved: "green", muted: "gray" };

export function StatusBadge({ status }: { status: string }) {
  return (
    <Badge color={statusColor[status] ?? "gray"} variant="light" size="sm" miw="max-content">
      {status}
    </Badge>
  );
}
