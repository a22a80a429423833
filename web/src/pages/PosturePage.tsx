import { useEffect, useMemo, useState } from "react";
import { Anchor, Card, Group, MultiSelect, Progress, SimpleGrid, Stack, Table, Tabs, Text, Title } from "@mantine/core";
import { BarChart, LineChart } from "@mantine/charts";
import { Link, useNavigate, useSearchParams } from "react-router-dom";
import { api, type Overview, type PassRate } from "../api/client";
import { ErrorAlert } from "../components/ErrorAlert";
import { EmptyState, firstSteps } from "../components/EmptyState";
import { useAuth } from "../auth";
import { SEVERITIES, severityColor } from "../severity";
import { findingsHref, openFindingsHref, type FindingsFilter } from "../links";
import {
  failuresHref, formatRate, manualHref, parsePostureFilter, passesHref, POSTURE_DIMENSIONS, postureQuery, rateColor, rowFilter,
  type Breakdown, type PostureFilter,
} from "../posture";

// Tile is one count on the dashboard, a link to the findings it counts.
function Tile({ label, value, color, to, testid }: { label: string; value: number | string; color?: string; to: string; testid?: string }) {
  return (
    <Card withBorder component={Link} to={to} data-testid={testid ? `${testid}-tile` : undefined}
      style={{ textDecoration: "none", color: "inherit", borderLeft: color ? `4px solid var(--mantine-color-${color.replace(".", "-")})` : undefined }}>
      <Text size="sm" c="dimmed">{label}</Text>
      <Text fw={700} size="xl" c={color} data-testid={testid}>{value}</Text>
    </Card>
  );
}

// PassRateTable lists one breakdown: passed, failed and manual per row, each
// a link to the findings it counts, and the pass rate as a bar.
function PassRateTable({ rows, dim, filter, label }: { rows: PassRate[]; dim: Breakdown; filter: PostureFilter; label: string }) {
  if (rows.length === 0) return <Text c="dimmed" size="sm">No results yet.</Text>;
  return (
    <Table.ScrollContainer minWidth={560}>
      <Table striped data-testid={`passrate-${dim}`}>
        <Table.Thead>
          <Table.Tr>
            <Table.Th>{label}</Table.Th>
            <Table.Th ta="right">Passed</Table.Th>
            <Table.Th ta="right">Failed</Table.Th>
            <Table.Th ta="right">Manual</Table.Th>
            <Table.Th w={180}>Pass rate</Table.Th>
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {rows.map((r) => {
            const f = rowFilter(filter, dim, r.key, r.provider);
            return (
              <Table.Tr key={`${r.provider}/${r.key}`} data-testid={`passrate-${dim}-row`}>
                <Table.Td style={{ overflowWrap: "anywhere" }}>
                  <Text size="sm">{r.key || <Text span c="dimmed" size="sm">(none)</Text>}</Text>
                  {dim !== "provider" && r.provider && <Text size="xs" c="dimmed">{r.provider}</Text>}
                </Table.Td>
                <Table.Td ta="right"><Anchor component={Link} to={passesHref(f)} size="sm">{r.passed}</Anchor></Table.Td>
                <Table.Td ta="right">
                  <Anchor component={Link} to={failuresHref(f)} size="sm" fw={r.failed ? 700 : undefined} c={r.failed ? "red.7" : undefined}
                    data-testid={`passrate-${dim}-failed`}>{r.failed}</Anchor>
                </Table.Td>
                <Table.Td ta="right"><Anchor component={Link} to={manualHref(f)} size="sm" c="dimmed">{r.manual}</Anchor></Table.Td>
                <Table.Td>
                  <Group gap="xs" wrap="nowrap">
                    <Progress value={(r.pass_rate ?? 0) * 100} color={rateColor(r.pass_rate)} w={100} aria-label={`pass rate of ${r.key}`} />
                    <Text size="sm" data-testid={`passrate-${dim}-rate`}>{formatRate(r.pass_rate)}</Text>
                  </Group>
                </Table.Td>
              </Table.Tr>
            );
          })}
        </Table.Tbody>
      </Table>
    </Table.ScrollContainer>
  );
}

// FilterBar narrows the dashboard to providers, accounts and regions; its
// choices come from the unfiltered overview, so narrowing one does not hide
// the others' options.
function FilterBar({ all, filter, onChange }: { all: Overview | null; filter: PostureFilter; onChange: (f: PostureFilter) => void }) {
  const options = {
    provider: (all?.by_provider ?? []).map((r) => r.key).filter(Boolean),
    account: (all?.by_account ?? []).map((r) => r.key).filter(Boolean),
    region: (all?.by_region ?? []).map((r) => r.key).filter(Boolean),
  };
  const labels = { provider: "Provider", account: "Account", region: "Region" };
  return (
    <Group align="flex-end" gap="sm" data-testid="posture-filter">
      {POSTURE_DIMENSIONS.map((k) => (
        <MultiSelect key={k} label={labels[k]} data={[...new Set([...options[k], ...filter[k]])]} value={filter[k]} searchable clearable
          onChange={(v) => onChange({ ...filter, [k]: v })} w={{ base: "100%", sm: 220 }} data-testid={`posture-filter-${k}`} />
      ))}
    </Group>
  );
}

export function PosturePage() {
  const { can } = useAuth();
  const navigate = useNavigate();
  const [search, setSearch] = useSearchParams();
  const filter = useMemo(() => parsePostureFilter(search), [search]);
  const query = postureQuery(filter);
  const [o, setO] = useState<Overview | null>(null);
  const [all, setAll] = useState<Overview | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [tick, setTick] = useState(0);
  useEffect(() => {
    api.overview(query).then((v) => {
      setO(v);
      if (!query) setAll(v);
    }, setError);
    if (query) api.overview().then(setAll, () => undefined);
  }, [query, tick]);
  // Resources are counted in the background after a change: ask again
  // until the count is there.
  const counting = o !== null && (o.resources_scanned === null || o.resources_scanned === undefined);
  useEffect(() => {
    if (!counting) return;
    const t = setTimeout(() => setTick((n) => n + 1), 2000);
    return () => clearTimeout(t);
  }, [counting, tick]);
  if (!o) return <ErrorAlert error={error} />;
  const base: FindingsFilter = { provider: filter.provider, account: filter.account, region: filter.region };
  const open = SEVERITIES.reduce((n, s) => n + (o.open_by_severity[s] ?? 0), 0);
  const everything = Object.values(all?.by_status ?? o.by_status ?? {}).reduce((n, v) => n + v, 0);
  // One series per severity, each bar in its own row: every bar gets its
  // severity's colour and a click opens that severity's open failures.
  const bars = SEVERITIES.map((s) => ({ severity: s, [s]: o.open_by_severity[s] ?? 0 }));
  const setFilter = (f: PostureFilter) => setSearch(new URLSearchParams(postureQuery(f).slice(1)), { replace: true });
  const breakdowns: { dim: Breakdown; label: string; rows: PassRate[] }[] = [
    { dim: "provider", label: "Provider", rows: o.by_provider },
    { dim: "account", label: "Account", rows: o.by_account },
    { dim: "region", label: "Region", rows: o.by_region },
    { dim: "service", label: "Service", rows: o.by_service },
    { dim: "check", label: "Check", rows: o.by_check },
  ];
  return (
    <Stack>
      <Title order={2}>Posture overview</Title>
      {everything === 0 && (
        <EmptyState title="No findings yet" steps={firstSteps(can)} testid="posture-empty">
          Findings appear here once a report is imported, a cloud account is scanned, or a network, web or container scan runs.
        </EmptyState>
      )}
      {everything > 0 && <FilterBar all={all} filter={filter} onChange={setFilter} />}
      <SimpleGrid cols={{ base: 2, sm: 3, lg: 5 }}>
        <Tile label="Pass rate" value={formatRate(o.totals.pass_rate)} color={rateColor(o.totals.pass_rate)} to={passesHref(base)} testid="pass-rate" />
        <Tile label="Failed checks" value={o.totals.failed} color="red.6" to={failuresHref(base)} testid="failed-total" />
        <Tile label="Manual checks" value={o.totals.manual} to={manualHref(base)} testid="manual-total" />
        <Tile label="Resources scanned" value={o.resources_scanned ?? "counting…"} to={findingsHref(base)} testid="resources-scanned" />
        <Tile label="Checks evaluated" value={o.evaluated} to={findingsHref(base)} testid="evaluated" />
      </SimpleGrid>
      <SimpleGrid cols={{ base: 2, sm: 3, lg: 6 }}>
        <Tile label="Open failures" value={open} to={openFindingsHref(base)} testid="open-total" />
        {SEVERITIES.map((s) => (
          <Tile key={s} label={s[0].toUpperCase() + s.slice(1)} value={o.open_by_severity[s] ?? 0} color={severityColor(s)}
            to={openFindingsHref({ ...base, severity: s })} testid={`open-${s}`} />
        ))}
      </SimpleGrid>
      <SimpleGrid cols={{ base: 1, md: 2 }}>
        <Card withBorder>
          <Title order={5} mb="sm">Open failures by severity</Title>
          <BarChart h={220} dataKey="severity" data={bars} type="stacked" data-testid="severity-chart"
            series={SEVERITIES.map((s) => ({ name: s, color: severityColor(s) }))}
            barProps={(series) => ({ cursor: "pointer", onClick: () => navigate(openFindingsHref({ ...base, severity: series.name })) })} />
        </Card>
        <Card withBorder>
          <Title order={5} mb="sm">Last 30 days</Title>
          <LineChart h={220} dataKey="day" data={o.trend} withLegend
            series={[{ name: "new", color: "orange.6" }, { name: "resolved", color: "green.6" }]} curveType="linear" />
        </Card>
      </SimpleGrid>
      <Card withBorder>
        <Title order={5} mb="xs">Pass and fail</Title>
        <Text size="sm" c="dimmed" mb="sm">
          Counted in resources: a check that passed on a resource, failed on it (open), or needs a person to judge (manual). Muted and
          risk-accepted findings are left out of the rate.
        </Text>
        <Tabs defaultValue="provider" keepMounted={false}>
          <Tabs.List>
            {breakdowns.map((b) => <Tabs.Tab key={b.dim} value={b.dim} data-testid={`passrate-tab-${b.dim}`}>{b.label}</Tabs.Tab>)}
          </Tabs.List>
          {breakdowns.map((b) => (
            <Tabs.Panel key={b.dim} value={b.dim} pt="sm">
              <PassRateTable rows={b.rows} dim={b.dim} filter={filter} label={b.label} />
            </Tabs.Panel>
          ))}
        </Tabs>
      </Card>
    </Stack>
  );
}
