import { Badge, Group } from "@mantine/core";
import { StatusBadge } from "../../components/SeverityBadge";
import { TRIAGE_LABELS } from "../../api/triage";
import type { MuteFields } from "../../mute";

interface StatusFields extends MuteFields {
  triage_reason?: string | null;
  risk_pending?: boolean | null;
}

// FindingStatusBadge is a finding's status: a triage state (false
// positive, out of scope) shows as itself, not as a mute, and a risk
// acceptance waiting for approval says so beside the status.
export function FindingStatusBadge({ f }: { f: StatusFields }) {
  const triage = TRIAGE_LABELS[f.status];
  return (
    <Group gap={4} wrap="nowrap">
      {triage ? (
        <Badge color="teal" variant="light" size="sm" miw="max-content" title={f.triage_reason ?? ""} data-testid="triage-badge">{triage}</Badge>
      ) : (
        <StatusBadge status={f.status} finding={f} />
      )}
      {f.risk_pending && <Badge color="yellow" variant="light" size="sm" miw="max-content" data-testid="risk-pending-badge">risk pending</Badge>}
    </Group>
  );
}
