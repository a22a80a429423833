import { useCallback, useEffect, useState } from "react";
import {
  Alert, Badge, Button, Code, Drawer, Group, Modal, MultiSelect, NumberInput, PasswordInput, Select, Stack, Switch, Table, Tabs, Text,
  TextInput, Title,
} from "@mantine/core";
import { useAuth } from "../auth";
import { ErrorAlert, NoAccess } from "../components/ErrorAlert";
import { EmptyState } from "../components/EmptyState";
import { useAction } from "../useAction";
import {
  CHANNEL_LABELS, DELIVERY_COLORS, EVENT_LABELS, channelSummary, notifications, splitList, type ChannelInput, type Delivery, type Rule,
  type RuleInput,
} from "../integrations";
import { TicketsPanel } from "./TicketsPanel";

// Integrations: notification rules (which events go where, with their
// delivery logs) and ticket systems. Reading needs integrations:read;
// changing them is ADMIN's (integrations:manage).
export function IntegrationsPage() {
  const { can } = useAuth();
  if (!can("integrations:read")) return <NoAccess />;
  return (
    <Stack>
      <Title order={2}>Integrations</Title>
      <Text c="dimmed" size="sm">
        Tell the team where it already works: chat, email and signed webhooks for what the platform finds, and tickets in Jira or GitHub.
      </Text>
      <Tabs defaultValue="notifications" keepMounted={false}>
        <Tabs.List>
          <Tabs.Tab value="notifications" data-testid="int-tab-notifications">Notifications</Tabs.Tab>
          <Tabs.Tab value="tickets" data-testid="int-tab-tickets">Tickets</Tabs.Tab>
        </Tabs.List>
        <Tabs.Panel value="notifications" pt="md"><RulesPanel manage={can("integrations:manage")} /></Tabs.Panel>
        <Tabs.Panel value="tickets" pt="md"><TicketsPanel manage={can("integrations:manage")} /></Tabs.Panel>
      </Tabs>
    </Stack>
  );
}

function RulesPanel({ manage }: { manage: boolean }) {
  const [rules, setRules] = useState<Rule[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [editing, setEditing] = useState<Rule | "new" | null>(null);
  const [log, setLog] = useState<Rule | null>(null);
  const [secret, setSecret] = useState<string | null>(null);
  const [tested, setTested] = useState<Delivery | null>(null);
  const action = useAction();
  const load = useCallback(() => {
    notifications.rules().then((r) => setRules(r.rules), setError);
  }, []);
  useEffect(load, [load]);
  return (
    <Stack>
      <ErrorAlert error={error ?? action.error} />
      {secret && (
        <Alert color="blue" title="Signing secret" withCloseButton onClose={() => setSecret(null)} data-testid="signing-secret">
          Keep it now: it is not shown again. The receiver checks <Code>X-CSPM-Signature</Code> with it.
          <Code block mt="xs">{secret}</Code>
        </Alert>
      )}
      {tested && (
        <Alert color={tested.status === "delivered" ? "green" : "red"} withCloseButton onClose={() => setTested(null)} data-testid="test-result">
          Test message {tested.status}{tested.status_code ? ` (HTTP ${tested.status_code})` : ""}{tested.last_error ? `: ${tested.last_error}` : ""}
        </Alert>
      )}
      {manage && (
        <Group>
          <Button onClick={() => setEditing("new")} data-testid="rule-add">Add rule</Button>
        </Group>
      )}
      {rules && rules.length === 0 && <EmptyState title="No notification rules" steps={[]}>Add a rule to send events to a webhook, Slack, Teams or email.</EmptyState>}
      {rules && rules.length > 0 && (
        <Table.ScrollContainer minWidth={800}>
          <Table striped data-testid="rules-table">
            <Table.Thead>
              <Table.Tr>
                <Table.Th>Name</Table.Th>
                <Table.Th>Event</Table.Th>
                <Table.Th>Channel</Table.Th>
                <Table.Th>Mode</Table.Th>
                <Table.Th />
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {rules.map((r) => (
                <Table.Tr key={r.id}>
                  <Table.Td>
                    <Text size="sm" fw={600}>{r.name}</Text>
                    {!r.enabled && <Badge color="gray" size="xs">disabled</Badge>}
                  </Table.Td>
                  <Table.Td><Text size="sm">{EVENT_LABELS[r.event] ?? r.event}</Text></Table.Td>
                  <Table.Td>
                    <Text size="sm">{CHANNEL_LABELS[r.channel.kind] ?? r.channel.kind}</Text>
                    <Text size="xs" c="dimmed">{channelSummary(r)}</Text>
                  </Table.Td>
                  <Table.Td><Text size="sm">{r.digest ? `${r.digest} digest` : "each event"}</Text></Table.Td>
                  <Table.Td>
                    <Group gap="xs" justify="flex-end" wrap="nowrap">
                      <Button size="xs" variant="default" onClick={() => setLog(r)} data-testid="rule-deliveries">Deliveries</Button>
                      {manage && (
                        <>
                          <Button size="xs" variant="default" loading={action.busy}
                            onClick={() => action.run(async () => setTested(await notifications.test(r.id)))} data-testid="rule-test">Test</Button>
                          <Button size="xs" variant="default" onClick={() => setEditing(r)}>Edit</Button>
                          <Button size="xs" color="red" variant="light"
                            onClick={() => {
                              if (window.confirm(`Delete the rule "${r.name}" and its delivery log?`)) action.run(async () => { await notifications.remove(r.id); load(); });
                            }}>Delete</Button>
                        </>
                      )}
                    </Group>
                  </Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        </Table.ScrollContainer>
      )}
      <RuleModal rule={editing} onClose={() => setEditing(null)}
        onSaved={(r) => { setEditing(null); if (r.signing_secret) setSecret(r.signing_secret); load(); }} />
      <DeliveryLog rule={log} onClose={() => setLog(null)} />
    </Stack>
  );
}

const SEVERITIES = ["critical", "high", "medium", "low", "informational"];

function RuleModal({ rule, onClose, onSaved }: { rule: Rule | "new" | null; onClose: () => void; onSaved: (r: Rule) => void }) {
  const existing = rule && rule !== "new" ? rule : null;
  const [name, setName] = useState("");
  const [event, setEvent] = useState<RuleInput["event"]>("finding.new");
  const [kind, setKind] = useState("webhook");
  const [digest, setDigest] = useState<"" | "hourly" | "daily">("");
  const [enabled, setEnabled] = useState(true);
  const [ch, setCh] = useState<Partial<ChannelInput>>({});
  const [to, setTo] = useState("");
  const [changeChannel, setChangeChannel] = useState(true);
  const [severities, setSeverities] = useState<string[]>([]);
  const [accounts, setAccounts] = useState("");
  const [tags, setTags] = useState("");
  const [tiers, setTiers] = useState<string[]>([]);
  const [minDrop, setMinDrop] = useState<number | string>(5);
  const action = useAction();
  useEffect(() => {
    if (!rule) return;
    const r = existing;
    setName(r?.name ?? "");
    setEvent((r?.event as RuleInput["event"]) ?? "finding.new");
    setKind(r?.channel.kind ?? "webhook");
    setDigest(r?.digest ?? "");
    setEnabled(r?.enabled ?? true);
    setCh(r ? { smtp_host: r.channel.smtp_host, smtp_port: r.channel.smtp_port, username: r.channel.username, from: r.channel.from } : {});
    setTo((r?.channel.to ?? []).join(", "));
    setChangeChannel(!r);
    setSeverities(r?.filters.severities ?? []);
    setAccounts((r?.filters.accounts ?? []).join(", "));
    setTags((r?.filters.tags ?? []).join(", "));
    setTiers((r?.filters.tiers ?? []).map(String));
    setMinDrop(r?.filters.min_drop ?? 5);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [rule]);
  const set = (k: keyof ChannelInput) => (e: React.ChangeEvent<HTMLInputElement>) => setCh({ ...ch, [k]: e.currentTarget.value });
  const save = () =>
    action.run(async () => {
      const input: RuleInput = {
        name, event, digest, enabled,
        filters: {
          severities: severities as NonNullable<RuleInput["filters"]>["severities"],
          accounts: splitList(accounts), tags: splitList(tags), tiers: tiers.map(Number),
          min_drop: event === "compliance.score_dropped" ? Number(minDrop) : undefined,
        },
      };
      if (changeChannel) {
        input.channel = { ...ch, kind: kind as ChannelInput["kind"], to: kind === "email" ? splitList(to) : undefined, smtp_port: ch.smtp_port ? Number(ch.smtp_port) : undefined };
      }
      onSaved(existing ? await notifications.update(existing.id, input) : await notifications.create(input));
    });
  return (
    <Modal opened={rule !== null} onClose={onClose} title={existing ? `Edit ${existing.name}` : "Add a notification rule"} size="lg">
      <Stack>
        <ErrorAlert error={action.error} />
        <TextInput label="Name" value={name} onChange={(e) => setName(e.currentTarget.value)} required data-testid="rule-name" />
        <Select label="Event" value={event} onChange={(v) => v && setEvent(v as RuleInput["event"])} allowDeselect={false}
          data={Object.entries(EVENT_LABELS).filter(([k]) => k !== "test").map(([value, label]) => ({ value, label }))} data-testid="rule-event" />
        <Group grow>
          <MultiSelect label="Severities" placeholder="any" data={SEVERITIES} value={severities} onChange={setSeverities} />
          <MultiSelect label="BIA tiers" placeholder="any" data={["1", "2", "3", "4", "5"]} value={tiers} onChange={setTiers} />
        </Group>
        <Group grow>
          <TextInput label="Accounts" placeholder="any; comma-separated IDs" value={accounts} onChange={(e) => setAccounts(e.currentTarget.value)} />
          <TextInput label="Tags" placeholder="any; env=prod, team=pay" value={tags} onChange={(e) => setTags(e.currentTarget.value)} />
        </Group>
        {event === "compliance.score_dropped" && (
          <NumberInput label="Points dropped, at least" min={0} max={100} value={minDrop} onChange={setMinDrop} />
        )}
        <Select label="Mode" value={digest} onChange={(v) => setDigest((v ?? "") as "" | "hourly" | "daily")} allowDeselect={false}
          data={[{ value: "", label: "One message per event" }, { value: "hourly", label: "Hourly digest" }, { value: "daily", label: "Daily digest" }]} />
        <Switch label="Enabled" checked={enabled} onChange={(e) => setEnabled(e.currentTarget.checked)} />
        {existing && <Switch label="Change the channel" checked={changeChannel} onChange={(e) => setChangeChannel(e.currentTarget.checked)} />}
        {changeChannel && (
          <>
            <Select label="Channel" value={kind} onChange={(v) => v && setKind(v)} allowDeselect={false}
              data={Object.entries(CHANNEL_LABELS).map(([value, label]) => ({ value, label }))} data-testid="rule-channel" />
            {kind !== "email" && (
              <PasswordInput label="URL" description={existing ? "Leave empty to keep the stored one." : "Kept sealed; never shown again."}
                value={ch.url ?? ""} onChange={set("url")} data-testid="rule-url" />
            )}
            {kind === "webhook" && (
              <PasswordInput label="Signing secret" description="Optional: one is generated and shown once when empty."
                value={ch.signing_secret ?? ""} onChange={set("signing_secret")} />
            )}
            {kind === "email" && (
              <>
                <Group grow>
                  <TextInput label="SMTP host" value={ch.smtp_host ?? ""} onChange={set("smtp_host")} />
                  <NumberInput label="Port" description="STARTTLS required" value={ch.smtp_port ?? 587}
                    onChange={(v) => setCh({ ...ch, smtp_port: Number(v) })} />
                </Group>
                <Group grow>
                  <TextInput label="Username" value={ch.username ?? ""} onChange={set("username")} />
                  <PasswordInput label="Password" description={existing ? "Empty keeps the stored one." : undefined} value={ch.password ?? ""} onChange={set("password")} />
                </Group>
                <TextInput label="From" placeholder="CSPM <cspm@example.com>" value={ch.from ?? ""} onChange={set("from")} />
                <TextInput label="To" placeholder="soc@example.com, oncall@example.com" value={to} onChange={(e) => setTo(e.currentTarget.value)} />
              </>
            )}
          </>
        )}
        <Group justify="flex-end">
          <Button variant="default" onClick={onClose}>Cancel</Button>
          <Button onClick={save} loading={action.busy} data-testid="rule-save">Save</Button>
        </Group>
      </Stack>
    </Modal>
  );
}

function DeliveryLog({ rule, onClose }: { rule: Rule | null; onClose: () => void }) {
  const [list, setList] = useState<Delivery[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const load = useCallback(() => {
    if (rule) notifications.deliveries(rule.id).then((r) => setList(r.deliveries), setError);
  }, [rule]);
  useEffect(() => {
    setList(null);
    setError(null);
    load();
  }, [load]);
  return (
    <Drawer opened={rule !== null} onClose={onClose} position="right" size="xl" title={rule ? `Deliveries: ${rule.name}` : ""}>
      <Stack>
        <Group><Button size="xs" variant="default" onClick={load}>Refresh</Button></Group>
        <ErrorAlert error={error} />
        {list && list.length === 0 && <Text c="dimmed" size="sm">Nothing sent yet.</Text>}
        {list && list.length > 0 && (
          <Table striped data-testid="deliveries-table">
            <Table.Thead>
              <Table.Tr>
                <Table.Th>When</Table.Th>
                <Table.Th>What</Table.Th>
                <Table.Th>Status</Table.Th>
                <Table.Th>Attempts</Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {list.map((d) => (
                <Table.Tr key={d.id}>
                  <Table.Td><Text size="xs">{new Date(d.created_at).toLocaleString()}</Text></Table.Td>
                  <Table.Td>
                    <Text size="sm">{d.title}</Text>
                    <Text size="xs" c="dimmed">{d.kind === "event" ? (EVENT_LABELS[d.event_type] ?? d.event_type) : d.kind}</Text>
                  </Table.Td>
                  <Table.Td>
                    <Badge color={DELIVERY_COLORS[d.status] ?? "gray"}>{d.status.replaceAll("_", " ")}</Badge>
                    {d.last_error && <Text size="xs" c="red" maw={320} style={{ wordBreak: "break-word" }}>{d.last_error}</Text>}
                  </Table.Td>
                  <Table.Td><Text size="sm">{d.attempts}{d.status_code ? ` · HTTP ${d.status_code}` : ""}</Text></Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        )}
      </Stack>
    </Drawer>
  );
}
