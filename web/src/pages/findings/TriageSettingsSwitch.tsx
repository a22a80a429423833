import { useEffect, useState } from "react";
import { Switch } from "@mantine/core";
import { triageApi } from "../../api/triage";
import { useAuth } from "../../auth";

// TriageSettingsSwitch lets an ADMIN require an approver (a security
// manager, compliance officer or admin other than the requester) for every
// risk acceptance of the team.
export function TriageSettingsSwitch() {
  const { can } = useAuth();
  const [on, setOn] = useState<boolean | null>(null);
  useEffect(() => {
    triageApi.settings().then((s) => setOn(s.risk_acceptance_requires_approval), () => setOn(null));
  }, []);
  if (!can("team:manage") || on === null) return null;
  const change = (v: boolean) => triageApi.setSettings(v).then((s) => setOn(s.risk_acceptance_requires_approval), () => {});
  return (
    <Switch size="xs" label="Risk acceptance needs an approver" checked={on} onChange={(e) => change(e.currentTarget.checked)}
      data-testid="risk-approval-setting" />
  );
}
