import { useState } from "react";
import { Button, Group, Modal, NumberInput, SimpleGrid, Stack, Text } from "@mantine/core";
import { api, type SLAPolicy } from "../api/client";
import { ErrorAlert } from "../components/ErrorAlert";
import { useAction } from "../useAction";

const FIELDS: { key: keyof SLAPolicy; label: string }[] = [
  { key: "critical_days", label: "Critical" },
  { key: "high_days", label: "High" },
  { key: "medium_days", label: "Medium" },
  { key: "low_days", label: "Low" },
];

// validSLA says what is wrong with a policy, or "" when the API will take
// it: whole days from 1 to 3650, a more severe level never given longer.
export function validSLA(p: SLAPolicy): string {
  for (const f of FIELDS) {
    const v = p[f.key];
    if (!Number.isInteger(v) || v < 1 || v > 3650) return `${f.label}: a whole number of days from 1 to 3650`;
  }
  if (p.critical_days > p.high_days || p.high_days > p.medium_days || p.medium_days > p.low_days) {
    return "A more severe level cannot have longer than a less severe one.";
  }
  return "";
}

// SLAEditor lets whoever manages vulnerabilities set the team's remediation
// deadlines; every change is audited by the API.
export function SLAEditor({ sla, onSaved }: { sla: SLAPolicy; onSaved: () => void }) {
  const [open, setOpen] = useState(false);
  const [p, setP] = useState<SLAPolicy>(sla);
  const { busy, error, run } = useAction();
  const problem = validSLA(p);
  const save = () => run(async () => {
    await api.setSLA(p);
    setOpen(false);
    onSaved();
  });
  return (
    <>
      <Button size="xs" variant="subtle" onClick={() => { setP(sla); setOpen(true); }} data-testid="sla-edit">Edit SLA</Button>
      <Modal opened={open} onClose={() => setOpen(false)} title="Remediation deadlines">
        <Stack>
          <Text size="sm" c="dimmed">Days from when a vulnerability is first found on an asset to when it is overdue, by severity.</Text>
          <SimpleGrid cols={2}>
            {FIELDS.map((f) => (
              <NumberInput key={f.key} label={`${f.label} (days)`} min={1} max={3650} allowDecimal={false} value={p[f.key]}
                onChange={(v) => setP({ ...p, [f.key]: typeof v === "number" ? v : Number(v) })} data-testid={`sla-${f.key}`} />
            ))}
          </SimpleGrid>
          {problem && <Text size="sm" c="red" data-testid="sla-problem">{problem}</Text>}
          <ErrorAlert error={error} />
          <Group justify="flex-end">
            <Button onClick={save} loading={busy} disabled={!!problem} data-testid="sla-save">Save</Button>
          </Group>
        </Stack>
      </Modal>
    </>
  );
}
