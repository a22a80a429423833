import { Badge, Tooltip } from "@mantine/core";
import { severityColor } from "../severity";
import { muteInfo, muteSentence, type MuteFields } from "../mute";

export { severityColor };

export function SeverityBadge({ severity }: { severity: string }) {
  return (
    <Badge color={severityColor(severity)} variant="filled" size="sm" miw="max-content">
      {severity}
    </Badge>
  );
}

export const statusColor: Record<string, string> = { open: "red", reopened: "orange", resolved: "green", muted: "gray" };

// StatusBadge shows a finding's status; a muted finding says which kind of
// mute it is (muted, risk accepted, muted by rule) and, on hover, why,
// by whom and until when.
export function StatusBadge({ status, finding }: { status: string; finding?: MuteFields }) {
  const m = finding ? muteInfo(finding) : null;
  if (m) {
    return (
      <Tooltip label={muteSentence(m)} multiline maw={320} withinPortal>
        <Badge color={m.color} variant="light" size="sm" miw="max-content" data-testid="mute-badge">
          {m.label}
        </Badge>
      </Tooltip>
    );
  }
  return (
    <Badge color={statusColor[status] ?? "gray"} variant="light" size="sm" miw="max-content">
      {status}
    </Badge>
  );
}
