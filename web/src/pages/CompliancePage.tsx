import { useCallback, useEffect, useState } from "react";
import { Anchor, Badge, Button, Card, Group, RingProgress, SimpleGrid, Stack, Tabs, Text, Title, Tooltip } from "@mantine/core";
import { LineChart } from "@mantine/charts";
import { Link, useLocation, useNavigate, useParams, useSearchParams } from "react-router-dom";
import { useAuth } from "../auth";
import { useAction } from "../useAction";
import { ErrorAlert } from "../components/ErrorAlert";
import { EmptyState } from "../components/EmptyState";
import {
  complianceApi, formatScore, formatWhen, frameworkHref, scoreColor, statusColor, statusCounts, statusLabel,
  type ComplianceOverview, type DomainScore, type FrameworkSummary, type SyncResult,
} from "../compliance";
import { ComplianceFrameworkPage } from "./ComplianceFramework";
import { ComplianceControlPage } from "./ComplianceControl";
import { ComplianceImportsPage } from "./ComplianceImports";
import { ComplianceAttestationsPage } from "./ComplianceAttestations";

// ComplianceArea is every page under /compliance: the overview, a
// framework, a control, imports and attestations, under one set of tabs.
export function ComplianceArea() {
  const rest = useParams()["*"] ?? "";
  const [search] = useSearchParams();
  const [section, ...tail] = rest.split("/");
  const arg = tail.length ? decodeURIComponent(tail.join("/")) : search.get("id") ?? "";
  let page = <ComplianceOverviewPage />;
  if (section === "frameworks" && arg) page = <ComplianceFrameworkPage id={arg} />;
  else if (section === "controls" && arg) page = <ComplianceControlPage id={arg} />;
  else if (section === "imports") page = <ComplianceImportsPage />;
  else if (section === "attestations") page = <ComplianceAttestationsPage />;
  return (
    <Stack>
      <ComplianceTabs />
      {page}
    </Stack>
  );
}

function ComplianceTabs() {
  const { pathname } = useLocation();
  const navigate = useNavigate();
  const { can } = useAuth();
  const value = pathname.startsWith("/compliance/imports") ? "imports" : pathname.startsWith("/compliance/attestations") ? "attestations" : "overview";
  return (
    <Tabs value={value} onChange={(v) => navigate(v === "overview" ? "/compliance" : `/compliance/${v}`)} data-testid="compliance-tabs">
      <Tabs.List>
        <Tabs.Tab value="overview" data-testid="compliance-tab-overview">Overview</Tabs.Tab>
        <Tabs.Tab value="attestations" data-testid="compliance-tab-attestations">Attestations</Tabs.Tab>
        {can("compliance:manage") && <Tabs.Tab value="imports" data-testid="compliance-tab-imports">Imports</Tabs.Tab>}
      </Tabs.List>
    </Tabs>
  );
}

// ScoreRing is a score as a ring, its colour from the score.
export function ScoreRing({ score, size = 90, testid }: { score: number | null | undefined; size?: number; testid?: string }) {
  const assessed = score !== null && score !== undefined;
  return (
    <RingProgress size={size} thickness={size / 9} roundCaps
      sections={[{ value: assessed ? Math.max(score, 0.5) : 0, color: scoreColor(score) }]}
      label={<Text ta="center" fw={700} size={size > 80 ? "md" : "sm"} data-testid={testid}>{formatScore(score)}</Text>} />
  );
}

// StatusCounts shows counts by status as small badges, zeros left out.
export function StatusCounts({ counts }: { counts: Record<string, number> | undefined }) {
  const rows = statusCounts(counts).filter((c) => c.n > 0);
  if (rows.length === 0) return <Text size="xs" c="dimmed">nothing assessable</Text>;
  return (
    <Group gap={4}>
      {rows.map((c) => (
        <Badge key={c.status} size="sm" variant="light" color={statusColor(c.status)}>{c.n} {statusLabel(c.status).toLowerCase()}</Badge>
      ))}
    </Group>
  );
}

function FrameworkCard({ f }: { f: FrameworkSummary }) {
  return (
    <Card withBorder component={Link} to={frameworkHref(f.id)} data-testid="framework-card"
      style={{ textDecoration: "none", color: "inherit" }}>
      <Group wrap="nowrap" align="flex-start">
        <ScoreRing score={f.score} size={76} testid="framework-score" />
        <Stack gap={4} style={{ minWidth: 0, flex: 1 }}>
          <Text fw={600} style={{ overflowWrap: "anywhere" }} data-testid="framework-name">{f.name}</Text>
          <Group gap={4}>
            <Badge size="xs" variant="outline">{f.source}</Badge>
            {f.version && <Badge size="xs" variant="outline" color="gray">v{f.version}</Badge>}
            {f.primary && <Badge size="xs" color="indigo">primary SCF</Badge>}
          </Group>
          <Text size="xs" c="dimmed">{f.assessable} assessable of {f.nodes} nodes</Text>
          <StatusCounts counts={f.counts} />
        </Stack>
      </Group>
    </Card>
  );
}

function Heatmap({ domains, scfID }: { domains: DomainScore[]; scfID?: string }) {
  return (
    <SimpleGrid cols={{ base: 2, xs: 3, sm: 4, lg: 6 }} spacing={6} data-testid="domain-heatmap">
      {domains.map((d) => {
        const c = scoreColor(d.score);
        const [hue, shade] = c.split(".");
        const light = d.score === null || Number(shade) < 6;
        const cell = (
          <Card key={d.urn} p={6} radius="sm" data-testid="domain-cell"
            style={{ background: `var(--mantine-color-${hue}-${shade})`, color: light ? "var(--mantine-color-dark-7)" : "white", minHeight: 56 }}>
            <Text size="xs" fw={700}>{d.ref_id}</Text>
            <Text size="xs" lineClamp={1}>{d.name}</Text>
            <Text size="xs" fw={700}>{formatScore(d.score)}</Text>
          </Card>
        );
        const tip = statusCounts(d.counts).filter((x) => x.n > 0).map((x) => `${x.n} ${statusLabel(x.status).toLowerCase()}`).join(", ");
        return (
          <Tooltip key={d.urn} label={`${d.name}: ${tip || "no controls"}`} multiline maw={260}>
            {scfID ? <Link to={frameworkHref(scfID, d.urn)} style={{ textDecoration: "none" }}>{cell}</Link> : cell}
          </Tooltip>
        );
      })}
    </SimpleGrid>
  );
}

function HeatmapLegend() {
  const steps: [string, number | null][] = [["90–100", 95], ["75–89", 80], ["50–74", 60], ["25–49", 30], ["0–24", 0], ["not assessed", null]];
  return (
    <Group gap="sm" mt="xs">
      {steps.map(([label, v]) => {
        const [hue, shade] = scoreColor(v).split(".");
        return (
          <Group key={label} gap={4} wrap="nowrap">
            <span style={{ width: 12, height: 12, borderRadius: 2, background: `var(--mantine-color-${hue}-${shade})` }} />
            <Text size="xs" c="dimmed">{label}</Text>
          </Group>
        );
      })}
    </Group>
  );
}

function SyncPanel({ o, onSynced }: { o: ComplianceOverview; onSynced: (r: SyncResult) => void }) {
  const { can } = useAuth();
  const { busy, error, run } = useAction();
  const s = o.sync;
  const due = s.current_content_version > s.content_version;
  return (
    <Card withBorder data-testid="sync-status">
      <Group justify="space-between" align="flex-start">
        <Stack gap={2}>
          <Title order={5}>Engine sync</Title>
          <Text size="sm">Last full sync: <b data-testid="sync-last-full">{formatWhen(s.last_full_at)}</b></Text>
          <Text size="sm">Last incremental sync: {formatWhen(s.last_incremental_at)}</Text>
          <Text size="sm" c="dimmed">Took {s.duration_ms} ms · {s.controls_touched} {s.controls_touched === 1 ? "control" : "controls"} scored</Text>
          {due && <Text size="sm" c="orange">Content changed since the last sync; a sync is due.</Text>}
          {s.last_error && <Text size="sm" c="red">Last error: {s.last_error}</Text>}
        </Stack>
        {can("compliance:sync") && (
          <Button loading={busy} data-testid="sync-now" onClick={() => run(async () => onSynced(await complianceApi.sync()))}>Sync now</Button>
        )}
      </Group>
      <ErrorAlert error={error} />
    </Card>
  );
}

function Trend({ o }: { o: ComplianceOverview }) {
  const names = new Map(o.frameworks.map((f) => [f.id, f.name]));
  const ids = [...new Set(o.trend.flatMap((p) => Object.keys(p.frameworks ?? {})))].filter((id) => names.has(id)).slice(0, 5);
  const colors = ["blue.6", "teal.6", "grape.6", "orange.6", "cyan.6"];
  // Series keys are f0, f1, ...: a framework's name ("NIST CSF v2.0") has
  // dots, which the chart would read as a path into the row.
  const data = o.trend.map((p) => {
    const row: Record<string, string | number | null> = { day: p.day.slice(5), overall: p.overall };
    ids.forEach((id, i) => (row[`f${i}`] = p.frameworks?.[id] ?? null));
    return row;
  });
  if (data.length === 0) return <Text size="sm" c="dimmed">No scores yet: the trend starts with the first sync.</Text>;
  return (
    <LineChart h={240} dataKey="day" data={data} withLegend connectNulls curveType="linear" yAxisProps={{ domain: [0, 100] }}
      valueFormatter={(v) => formatScore(v)} data-testid="trend-chart"
      series={[{ name: "overall", label: "Overall", color: "indigo.7" }, ...ids.map((id, i) => ({ name: `f${i}`, label: names.get(id)!, color: colors[i] }))]} />
  );
}

export function ComplianceOverviewPage() {
  const { can } = useAuth();
  const [o, setO] = useState<ComplianceOverview | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [synced, setSynced] = useState<SyncResult | null>(null);
  const load = useCallback(() => complianceApi.overview(30).then((x) => { setO(x); setError(null); }, setError), []);
  useEffect(() => {
    void load();
  }, [load]);
  if (!o) return (<><Title order={2}>Compliance</Title><ErrorAlert error={error} /></>);
  const overall = o.overall;
  return (
    <Stack>
      <Title order={2}>Compliance</Title>
      <ErrorAlert error={error} />
      {o.frameworks.length === 0 ? (
        <EmptyState title="No frameworks loaded" testid="compliance-empty"
          steps={can("compliance:manage") ? [{ label: "Import compliance content", to: "/compliance/imports", primary: true }] : []}>
          Scores appear once content is loaded: upload the official SCF workbook (.xlsx), a framework library (CISO Assistant YAML)
          or a Prowler compliance map (JSON) on the Imports tab, or run <code>cspm scf import FILE</code> or <code>cspm frameworks import FILE</code> on the server.
          {!can("compliance:manage") && " Ask an administrator or compliance officer to load them."}
        </EmptyState>
      ) : (
        <>
          <SimpleGrid cols={{ base: 1, md: 2 }}>
            <Card withBorder>
              <Group wrap="nowrap">
                <ScoreRing score={overall.score} size={120} testid="overall-score" />
                <Stack gap={4} style={{ minWidth: 0 }}>
                  <Title order={4}>Overall</Title>
                  <Text size="sm" c="dimmed">{o.scf ? `${o.scf.name}: the weighted average of its assessed controls` : "No SCF version loaded"}</Text>
                  <StatusCounts counts={overall.counts} />
                </Stack>
              </Group>
            </Card>
            <SyncPanel o={o} onSynced={(r) => { setSynced(r); void load(); }} />
          </SimpleGrid>
          {synced && (
            <Text size="sm" c="green" data-testid="sync-result">
              {synced.full ? "Full" : "Incremental"} sync done in {synced.duration_ms} ms: {synced.controls_touched} controls scored, overall {formatScore(synced.overall.score)}.
            </Text>
          )}
          <Title order={4}>Frameworks</Title>
          <SimpleGrid cols={{ base: 1, sm: 2, lg: 3 }} data-testid="framework-cards">
            {o.frameworks.map((f) => <FrameworkCard key={f.id} f={f} />)}
          </SimpleGrid>
          <Card withBorder>
            <Title order={5} mb="sm">Last 30 days</Title>
            <Trend o={o} />
          </Card>
          {o.domains.length > 0 && (
            <Card withBorder>
              <Group justify="space-between" mb="sm">
                <Title order={5}>SCF domains</Title>
                {o.scf && (
                  <Group gap="md">
                    <Anchor component={Link} to={`${frameworkHref(o.scf.id)}?status=failing,partial`} size="sm" data-testid="failing-controls-link">What fails</Anchor>
                    <Anchor component={Link} to={frameworkHref(o.scf.id)} size="sm">All controls</Anchor>
                  </Group>
                )}
              </Group>
              <Heatmap domains={o.domains} scfID={o.scf?.id} />
              <HeatmapLegend />
            </Card>
          )}
        </>
      )}
    </Stack>
  );
}
