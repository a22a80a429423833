import { useCallback, useEffect, useState } from "react";
import { Anchor, Badge, Button, Card, Group, Loader, SimpleGrid, Stack, Table, Tabs, Text, Textarea, Title } from "@mantine/core";
import { Link, useLocation, useNavigate, useParams } from "react-router-dom";
import { useAuth } from "../auth";
import { useAction } from "../useAction";
import { ErrorAlert } from "../components/ErrorAlert";
import { EmptyState } from "../components/EmptyState";
import {
  ACTION_LABEL, actionsFor, biaApi, emptyRecord, hours, kindLabel, money, statusColor, statusLabel, tierColor,
  type Action, type BIASettings, type BIAVersion, type Process, type Transition,
} from "../bia";
import { BIAEditor } from "./BIAEditor";
import { BIAAnalyticsPage } from "./BIAAnalytics";
import { BIAGraph } from "./BIAGraph";

// BIAArea is every page under /bia: the register, a new analysis, one
// analysis, and the analytics.
export function BIAArea() {
  const rest = useParams()["*"] ?? "";
  const [section] = rest.split("/");
  let page = <BIARegister />;
  if (section === "analytics") page = <BIAAnalyticsPage />;
  else if (section === "new") page = <BIANew />;
  else if (section) page = <BIAProcessPage id={decodeURIComponent(section)} />;
  return (
    <Stack>
      <BIATabs />
      {page}
    </Stack>
  );
}

function BIATabs() {
  const { pathname } = useLocation();
  const navigate = useNavigate();
  const value = pathname.startsWith("/bia/analytics") ? "analytics" : "register";
  return (
    <Tabs value={value} onChange={(v) => navigate(v === "analytics" ? "/bia/analytics" : "/bia")}>
      <Tabs.List>
        <Tabs.Tab value="register" data-testid="bia-tab-register">Register</Tabs.Tab>
        <Tabs.Tab value="analytics" data-testid="bia-tab-analytics">Analytics</Tabs.Tab>
      </Tabs.List>
    </Tabs>
  );
}

export function StatusBadge({ status }: { status: string }) {
  return <Badge color={statusColor(status)} variant="light" data-testid="bia-status">{statusLabel(status)}</Badge>;
}

export function TierBadge({ tier, settings }: { tier: number; settings?: BIASettings }) {
  return <Badge color={tierColor(tier)} variant="filled">{`Tier ${tier}${settings ? " · " + settings.tier_names[tier - 1] : ""}`}</Badge>;
}

function BIARegister() {
  const { can } = useAuth();
  const [data, setData] = useState<{ processes: Process[]; settings: BIASettings } | null>(null);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    biaApi.list().then(setData, setError);
  }, []);
  if (error) return <ErrorAlert error={error} />;
  if (!data) return <Loader aria-label="Loading" />;
  return (
    <Stack>
      <Group justify="space-between">
        <Title order={2}>Business impact analyses</Title>
        <Group gap="xs">
          <Button component="a" href="/api/v1/bia/export?format=csv" variant="default" size="xs">Export CSV</Button>
          <Button component="a" href="/api/v1/bia/export?format=xlsx" variant="default" size="xs">Export XLSX</Button>
          {can("bia:manage") && <Button component={Link} to="/bia/new" data-testid="bia-new">New analysis</Button>}
        </Group>
      </Group>
      {data.processes.length === 0 ? (
        <EmptyState title="No analyses yet" steps={can("bia:manage") ? [{ label: "Start one", to: "/bia/new", primary: true }] : []}>
          A business impact analysis records what a process needs, how long it may be down and what it costs when it is.
        </EmptyState>
      ) : (
        <Table striped highlightOnHover data-testid="bia-register">
          <Table.Thead>
            <Table.Tr>
              <Table.Th>Process</Table.Th><Table.Th>Status</Table.Th><Table.Th>Tier</Table.Th><Table.Th>RTO</Table.Th>
              <Table.Th>RPO</Table.Th><Table.Th>MTPD</Table.Th><Table.Th>Loss / h</Table.Th><Table.Th>Review due</Table.Th><Table.Th>Gaps</Table.Th>
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {data.processes.map((p) => (
              <Table.Tr key={p.id} data-testid="bia-row">
                <Table.Td><Anchor component={Link} to={`/bia/${p.id}`}>{(p.approved ?? p.latest).record.name}</Anchor></Table.Td>
                <Table.Td><StatusBadge status={p.status} /></Table.Td>
                <Table.Td><TierBadge tier={p.objectives.tier} /></Table.Td>
                <Table.Td>{hours(p.objectives.rto_hours)}</Table.Td>
                <Table.Td>{hours(p.objectives.rpo_hours)}</Table.Td>
                <Table.Td>{hours(p.objectives.mtpd_hours)}</Table.Td>
                <Table.Td>{money((p.approved ?? p.latest).record.financial_loss_per_hour ?? 0)}</Table.Td>
                <Table.Td>
                  {p.review_due ? new Date(p.review_due).toLocaleDateString() : "—"}
                  {p.review_overdue && <Badge ml={4} color="red" size="xs">overdue</Badge>}
                </Table.Td>
                <Table.Td>{p.gaps.length > 0 ? <Badge color="orange" variant="light">{p.gaps.length}</Badge> : "—"}</Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      )}
    </Stack>
  );
}

function useProcesses() {
  const [list, setList] = useState<{ processes: Process[]; settings: BIASettings } | null>(null);
  useEffect(() => {
    biaApi.list().then(setList, () => setList(null));
  }, []);
  return list;
}

function BIANew() {
  const { me } = useAuth();
  const navigate = useNavigate();
  const list = useProcesses();
  if (!list) return <Loader aria-label="Loading" />;
  return (
    <Stack>
      <Title order={2}>New business impact analysis</Title>
      <BIAEditor initial={emptyRecord(me?.user.id ?? "")} settings={list.settings} submitLabel="Create draft"
        processes={list.processes.map((p) => ({ id: p.id, name: p.latest.record.name }))}
        onSave={async (r) => {
          const p = await biaApi.create(r);
          navigate(`/bia/${p.id}`);
        }} />
    </Stack>
  );
}

function BIAProcessPage({ id }: { id: string }) {
  const { me, can } = useAuth();
  const [p, setP] = useState<Process | null>(null);
  const [versions, setVersions] = useState<{ versions: BIAVersion[]; transitions: Transition[] } | null>(null);
  const [deps, setDeps] = useState<Awaited<ReturnType<typeof biaApi.dependencies>> | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [editing, setEditing] = useState(false);
  const [comment, setComment] = useState("");
  const list = useProcesses();
  const act = useAction();
  const load = useCallback(() => {
    biaApi.get(id).then(setP, setError);
    biaApi.versions(id).then(setVersions, setError);
    biaApi.dependencies(id).then(setDeps, setError);
  }, [id]);
  useEffect(load, [load]);
  if (error) return <ErrorAlert error={error} />;
  if (!p || !list) return <Loader aria-label="Loading" />;
  const inForce = p.approved ?? p.latest;
  const settings = list.settings;
  const actions = actionsFor(p.status, me?.role ?? "", can("bia:manage"));
  const editable = can("bia:manage") && ["draft", "returned", "approved"].includes(p.status);
  const take = (a: Action) =>
    act.run(async () => {
      setP(await biaApi.transition(p, a, comment));
      setComment("");
      load();
    });
  const inherited = (k: string) => {
    const f = p.objectives.inherited_from?.[k];
    return f ? <Text size="xs" c="dimmed">inherited from {f.name}</Text> : null;
  };
  return (
    <Stack data-testid="bia-process">
      <Group justify="space-between" align="start">
        <Stack gap={4}>
          <Title order={2} data-testid="bia-title">{p.latest.record.name}</Title>
          <Group gap="xs">
            <StatusBadge status={p.status} />
            <TierBadge tier={p.objectives.tier} settings={settings} />
            <Text size="sm" c="dimmed">
              version {p.latest_version}{p.approved_version && p.approved_version !== p.latest_version ? ` · version ${p.approved_version} in force` : ""}
            </Text>
          </Group>
        </Stack>
        {editable && !editing && (
          <Button variant="light" onClick={() => setEditing(true)} data-testid="bia-edit">
            {p.status === "approved" ? `Change (starts version ${p.latest_version + 1})` : "Edit"}
          </Button>
        )}
      </Group>
      {p.gaps.length > 0 && (
        <Card withBorder data-testid="bia-gaps">
          <Text fw={600} mb={4}>Gaps</Text>
          {p.gaps.map((g) => <Text key={g.code} size="sm">• {g.message}</Text>)}
        </Card>
      )}
      {editing ? (
        <BIAEditor initial={p.latest.record} settings={settings} submitLabel="Save"
          processes={list.processes.filter((x) => x.id !== p.id).map((x) => ({ id: x.id, name: x.latest.record.name }))}
          onCancel={() => setEditing(false)}
          onSave={async (r) => {
            setP(await biaApi.update(p, r));
            setEditing(false);
            load();
          }} />
      ) : (
        <SimpleGrid cols={{ base: 2, sm: 4 }}>
          <Card withBorder><Text size="xs" c="dimmed">RTO</Text><Text fw={700}>{hours(p.objectives.rto_hours)}</Text>{inherited("rto")}</Card>
          <Card withBorder><Text size="xs" c="dimmed">RPO</Text><Text fw={700}>{hours(p.objectives.rpo_hours)}</Text>{inherited("rpo")}</Card>
          <Card withBorder><Text size="xs" c="dimmed">MTPD</Text><Text fw={700}>{hours(p.objectives.mtpd_hours)}</Text>{inherited("mtpd")}</Card>
          <Card withBorder><Text size="xs" c="dimmed">Loss per hour</Text><Text fw={700}>{money(inForce.record.financial_loss_per_hour ?? 0)}</Text>{inherited("tier")}</Card>
        </SimpleGrid>
      )}
      {actions.length > 0 && (
        <Card withBorder data-testid="bia-lifecycle">
          <Stack>
            <Text fw={600}>Lifecycle</Text>
            <Textarea label="Comment" placeholder="Recorded with the step (required to return)" value={comment}
              onChange={(e) => setComment(e.currentTarget.value)} data-testid="bia-comment" />
            <Group>
              {actions.map((a) => (
                <Button key={a} loading={act.busy} color={a === "archive" ? "red" : a === "return" ? "orange" : undefined}
                  variant={a === "approve" || a === "submit" ? "filled" : "light"} onClick={() => take(a)} data-testid={`bia-action-${a}`}>
                  {ACTION_LABEL[a]}
                </Button>
              ))}
            </Group>
            <ErrorAlert error={act.error} />
          </Stack>
        </Card>
      )}
      {deps && (
        <Card withBorder data-testid="bia-dependencies">
          <Stack gap="xs">
            <Text fw={600}>Dependencies in force and what the scanners find on them</Text>
            {deps.exposure && (
              <Group gap="xs">
                <Badge color="red" variant="light">{deps.exposure.open_findings} open failing findings</Badge>
                <Badge color="grape" variant="light">{deps.exposure.kev} KEV vulnerabilities</Badge>
                {deps.exposure.kev_ids.map((k) => <Badge key={k} size="xs" variant="outline">{k}</Badge>)}
              </Group>
            )}
            <BIAGraph name={inForce.record.name} dependedOnBy={deps.depended_on_by.map((x) => x.name)} dependencies={deps.in_force}
              processes={deps.processes} openFindings={deps.exposure?.open_findings} kev={deps.exposure?.kev} />
            {deps.in_force.map((d) => (
              <Text key={d.kind + d.value} size="sm">
                <b>{kindLabel(d.kind)}</b>: {d.kind === "process" ? <Anchor component={Link} to={`/bia/${d.value}`}>{deps.processes[d.value] ?? d.value}</Anchor> : d.value}
              </Text>
            ))}
            {deps.depended_on_by.length > 0 && (
              <Text size="sm">Depended on by: {deps.depended_on_by.map((x) => x.name).join(", ")}</Text>
            )}
          </Stack>
        </Card>
      )}
      {versions && (
        <Card withBorder data-testid="bia-history">
          <Text fw={600} mb="xs">Version history</Text>
          <Table>
            <Table.Thead>
              <Table.Tr><Table.Th>When</Table.Th><Table.Th>Version</Table.Th><Table.Th>Step</Table.Th><Table.Th>By</Table.Th><Table.Th>Comment</Table.Th></Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {versions.transitions.map((t) => (
                <Table.Tr key={t.id} data-testid="bia-transition">
                  <Table.Td>{new Date(t.at).toLocaleString()}</Table.Td>
                  <Table.Td>{t.version}</Table.Td>
                  <Table.Td>{statusLabel(t.from_status)} → {statusLabel(t.to_status)}</Table.Td>
                  <Table.Td>{t.actor_email}</Table.Td>
                  <Table.Td>{t.comment}</Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
          <Group gap="xs" mt="xs">
            {versions.versions.map((v) => (
              <Badge key={v.version} color={statusColor(v.status)} variant="outline">v{v.version} {statusLabel(v.status)} · {v.author_email}</Badge>
            ))}
          </Group>
        </Card>
      )}
    </Stack>
  );
}
