import { useEffect, useState } from "react";
import {
  ActionIcon, Button, Card, Group, NativeSelect, NumberInput, Select, SimpleGrid, Stack, Table, Text, TextInput, Textarea, Title,
} from "@mantine/core";
import { triageApi, type AssignableUser } from "../api/triage";
import { useAction } from "../useAction";
import { ErrorAlert } from "../components/ErrorAlert";
import { DEPENDENCY_KINDS, type BIARecord, type BIASettings, type Dependency } from "../bia";

type Props = {
  initial: BIARecord;
  settings: BIASettings;
  processes: { id: string; name: string }[];
  submitLabel: string;
  onSave: (r: BIARecord) => Promise<unknown>;
  onCancel?: () => void;
};

const num = (v: string | number) => (v === "" || v === undefined || v === null ? undefined : Number(v));

// BIAEditor edits one version of an analysis: its fields, the impact grid
// (category x horizon, 1-5) and its dependencies. What is inconsistent is
// saved as written; the server lists it as a gap.
export function BIAEditor({ initial, settings, processes, submitLabel, onSave, onCancel }: Props) {
  const [r, setR] = useState<BIARecord>(() => ({ ...initial, impacts: { ...(initial.impacts ?? {}) }, dependencies: [...(initial.dependencies ?? [])] }));
  const [depKind, setDepKind] = useState<Dependency["kind"]>("cloud_account");
  const [depValue, setDepValue] = useState("");
  const save = useAction();
  // The owner is a user of the team: picked by email from the team's users.
  const [users, setUsers] = useState<AssignableUser[]>([]);
  useEffect(() => {
    triageApi.assignees().then((res) => setUsers(res.users), () => setUsers([]));
  }, []);
  const ownerOptions = [...users.map((u) => ({ value: u.id, label: u.email })),
    ...(r.owner_id && !users.some((u) => u.id === r.owner_id) ? [{ value: r.owner_id, label: r.owner_id }] : [])];
  const set = <K extends keyof BIARecord>(k: K, v: BIARecord[K]) => setR((x) => ({ ...x, [k]: v }));
  const rating = (c: string, h: string) => r.impacts?.[c]?.[h] ?? 0;
  const setRating = (c: string, h: string, v: number) =>
    setR((x) => ({ ...x, impacts: { ...(x.impacts ?? {}), [c]: { ...(x.impacts?.[c] ?? {}), [h]: v } } }));
  const deps = r.dependencies ?? [];
  const addDep = () => {
    if (!depValue.trim()) return;
    set("dependencies", [...deps, { kind: depKind, value: depValue.trim() }]);
    setDepValue("");
  };
  const kindInfo = DEPENDENCY_KINDS.find((k) => k.value === depKind);
  return (
    <Stack data-testid="bia-editor">
      <Card withBorder>
        <Stack>
          <Title order={4}>The process</Title>
          <SimpleGrid cols={{ base: 1, sm: 2 }}>
            <TextInput label="Name" required value={r.name} onChange={(e) => set("name", e.currentTarget.value)} data-testid="bia-name" />
            <NativeSelect label="Criticality tier" value={String(r.tier)} onChange={(e) => set("tier", Number(e.currentTarget.value))}
              data={settings.tier_names.map((n, i) => ({ value: String(i + 1), label: `${i + 1} · ${n}` }))} data-testid="bia-tier" />
            <Select label="Owner" placeholder="A user of the team" data={ownerOptions} value={r.owner_id || null} searchable clearable
              onChange={(v) => set("owner_id", v ?? "")} data-testid="bia-owner" />
            <TextInput label="Minimum service level" value={r.minimum_service_level ?? ""}
              onChange={(e) => set("minimum_service_level", e.currentTarget.value)} />
          </SimpleGrid>
          <Textarea label="Description" autosize minRows={2} value={r.description ?? ""} onChange={(e) => set("description", e.currentTarget.value)} />
        </Stack>
      </Card>
      <Card withBorder>
        <Stack>
          <Title order={4}>Recovery objectives</Title>
          <SimpleGrid cols={{ base: 1, sm: 3 }}>
            <NumberInput label="RTO (hours)" min={0} value={r.rto_hours ?? ""} onChange={(v) => set("rto_hours", num(v))} data-testid="bia-rto" />
            <NumberInput label="RPO (hours)" min={0} value={r.rpo_hours ?? ""} onChange={(v) => set("rpo_hours", num(v))} data-testid="bia-rpo" />
            <NumberInput label="MTPD (hours)" min={0} value={r.mtpd_hours ?? ""} onChange={(v) => set("mtpd_hours", num(v))} data-testid="bia-mtpd" />
            <NumberInput label="Financial loss per hour" min={0} value={r.financial_loss_per_hour ?? ""}
              onChange={(v) => set("financial_loss_per_hour", num(v) ?? 0)} data-testid="bia-loss" />
            <NumberInput label="Review interval (months)" min={0} max={60} value={r.review_interval_months ?? ""}
              onChange={(v) => set("review_interval_months", num(v) ?? 0)} />
            <NumberInput label="Measured recovery in the last test (hours)" min={0} value={r.measured_recovery_hours ?? ""}
              onChange={(v) => {
                set("measured_recovery_hours", num(v));
                if (num(v) !== undefined && !r.recovery_tested_at) set("recovery_tested_at", new Date().toISOString());
              }} />
          </SimpleGrid>
          <TextInput label="Why the RPO may exceed the RTO (if it does)" value={r.rpo_justification ?? ""}
            onChange={(e) => set("rpo_justification", e.currentTarget.value)} />
        </Stack>
      </Card>
      <Card withBorder>
        <Stack>
          <Title order={4}>Impact over time (1 negligible – 5 severe)</Title>
          <Table withTableBorder data-testid="impact-grid">
            <Table.Thead>
              <Table.Tr>
                <Table.Th>Category</Table.Th>
                {settings.horizons.map((h) => <Table.Th key={h.key}>{h.label || h.key}</Table.Th>)}
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {settings.categories.map((c) => (
                <Table.Tr key={c.key}>
                  <Table.Td>{c.label || c.key}</Table.Td>
                  {settings.horizons.map((h) => (
                    <Table.Td key={h.key}>
                      <NativeSelect size="xs" value={String(rating(c.key, h.key))} aria-label={`${c.label} at ${h.label}`}
                        onChange={(e) => setRating(c.key, h.key, Number(e.currentTarget.value))}
                        data={[{ value: "0", label: "–" }, ...[1, 2, 3, 4, 5].map((n) => ({ value: String(n), label: String(n) }))]}
                        data-testid={`impact-${c.key}-${h.key}`} />
                    </Table.Td>
                  ))}
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        </Stack>
      </Card>
      <Card withBorder>
        <Stack>
          <Title order={4}>Dependencies</Title>
          {deps.length === 0 && <Text size="sm" c="dimmed">None yet: accounts, resources and tag selectors tie the process to what the scanners find.</Text>}
          {deps.map((d, i) => (
            <Group key={d.kind + d.value + i} gap="xs" data-testid="bia-dependency">
              <Text size="sm" fw={600} w={160}>{DEPENDENCY_KINDS.find((k) => k.value === d.kind)?.label}</Text>
              <Text size="sm" style={{ flex: 1, wordBreak: "break-all" }}>
                {d.kind === "process" ? processes.find((p) => p.id === d.value)?.name ?? d.value : d.value}
              </Text>
              <ActionIcon variant="subtle" color="red" aria-label="Remove" onClick={() => set("dependencies", deps.filter((_, j) => j !== i))}>×</ActionIcon>
            </Group>
          ))}
          <Group align="end" gap="xs">
            <NativeSelect label="Kind" value={depKind} onChange={(e) => setDepKind(e.currentTarget.value as Dependency["kind"])}
              data={DEPENDENCY_KINDS.map((k) => ({ value: k.value, label: k.label }))} data-testid="bia-dep-kind" />
            {depKind === "process" ? (
              <NativeSelect label="Process" value={depValue} onChange={(e) => setDepValue(e.currentTarget.value)} style={{ flex: 1 }}
                data={[{ value: "", label: "Choose…" }, ...processes.map((p) => ({ value: p.id, label: p.name }))]} />
            ) : (
              <TextInput label="Value" placeholder={kindInfo?.placeholder} value={depValue} style={{ flex: 1 }}
                onChange={(e) => setDepValue(e.currentTarget.value)} data-testid="bia-dep-value" />
            )}
            <Button variant="light" onClick={addDep} data-testid="bia-dep-add">Add</Button>
          </Group>
        </Stack>
      </Card>
      <ErrorAlert error={save.error} />
      <Group>
        <Button loading={save.busy} onClick={() => save.run(() => onSave(r))} data-testid="bia-save">{submitLabel}</Button>
        {onCancel && <Button variant="subtle" onClick={onCancel}>Cancel</Button>}
      </Group>
    </Stack>
  );
}
