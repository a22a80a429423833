import { useEffect, useState } from "react";
import { Anchor, Badge, Card, Group, Loader, SimpleGrid, Stack, Table, Text, Title, Tooltip } from "@mantine/core";
import { BarChart } from "@mantine/charts";
import { Link } from "react-router-dom";
import { ErrorAlert } from "../components/ErrorAlert";
import { biaApi, hours, money, type Analytics } from "../bia";

const HEAT = ["#f1f3f5", "#d3f9d8", "#ffec99", "#ffc078", "#ff8787", "#e03131"];

function Stat({ label, value, testid }: { label: string; value: string; testid?: string }) {
  return (
    <Card withBorder>
      <Text size="xs" c="dimmed">{label}</Text>
      <Text fw={700} size="xl" data-testid={testid}>{value}</Text>
    </Card>
  );
}

const pct = (v: number) => `${Math.round(v * 100)}%`;

// BIAAnalyticsPage is the business impact dashboard.
export function BIAAnalyticsPage() {
  const [a, setA] = useState<Analytics | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [reload, setReload] = useState(0);
  useEffect(() => {
    biaApi.analytics().then(setA, setError);
  }, [reload]);
  // A stale exposure is being refreshed in the background: ask again shortly.
  useEffect(() => {
    if (!a?.exposure_stale) return;
    const t = setTimeout(() => setReload((n) => n + 1), 3000);
    return () => clearTimeout(t);
  }, [a]);
  if (error) return <ErrorAlert error={error} />;
  if (!a) return <Loader aria-label="Loading" />;
  const statuses = ["draft", "in_review", "returned", "approved"];
  const tiers = a.by_tier.map((t) => ({ tier: `${t.tier} · ${t.name}`, ...Object.fromEntries(statuses.map((s) => [s, t.by_status?.[s] ?? 0])) }));
  const cell = (c: string, h: string) => a.heatmap.cells.find((x) => x.category === c && x.horizon === h);
  return (
    <Stack data-testid="bia-analytics">
      <Title order={2}>Business impact analytics</Title>
      <SimpleGrid cols={{ base: 2, sm: 5 }}>
        <Stat label="Processes" value={String(a.processes)} testid="bia-stat-processes" />
        <Stat label="Revenue at risk per day of outage" value={money(a.revenue_at_risk_per_day)} testid="bia-stat-revenue" />
        <Stat label="Overdue reviews" value={String(a.overdue_reviews.length)} />
        <Stat label="Recovery tested" value={pct(a.recovery_tested_share)} />
        <Stat label="Recovery targets met" value={pct(a.targets_met_share)} />
      </SimpleGrid>
      <SimpleGrid cols={{ base: 1, md: 2 }}>
        <Card withBorder>
          <Text fw={600} mb="xs">Processes per tier and status</Text>
          <BarChart h={240} dataKey="tier" data={tiers} type="stacked" data-testid="bia-tier-chart"
            series={[{ name: "draft", color: "gray.5" }, { name: "in_review", color: "blue.6" }, { name: "returned", color: "orange.6" },
              { name: "approved", color: "green.6" }]} />
        </Card>
        <Card withBorder>
          <Text fw={600} mb="xs">Impact over time (highest rating; mean on hover)</Text>
          <Table withTableBorder data-testid="bia-heatmap">
            <Table.Thead>
              <Table.Tr>
                <Table.Th />
                {a.heatmap.horizons.map((h) => <Table.Th key={h.key}>{h.label || h.key}</Table.Th>)}
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {a.heatmap.categories.map((c) => (
                <Table.Tr key={c.key}>
                  <Table.Td>{c.label || c.key}</Table.Td>
                  {a.heatmap.horizons.map((h) => {
                    const x = cell(c.key, h.key);
                    return (
                      <Tooltip key={h.key} label={x && x.rated ? `mean ${x.mean.toFixed(1)} over ${x.rated} processes` : "not rated"}>
                        <Table.Td style={{ background: HEAT[x?.max ?? 0], textAlign: "center" }}>{x?.max || ""}</Table.Td>
                      </Tooltip>
                    );
                  })}
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        </Card>
      </SimpleGrid>
      <Card withBorder>
        <Group justify="space-between" mb="xs">
          <Text fw={600}>Findings on each process's dependencies, most critical process first</Text>
          <Text size="xs" c="dimmed" data-testid="bia-exposure-as-of">
            {a.exposure_stale ? "Refreshing after a change · " : ""}computed {new Date(a.exposure_computed_at).toLocaleString()}
          </Text>
        </Group>
        <Table striped data-testid="bia-exposure">
          <Table.Thead>
            <Table.Tr>
              <Table.Th>Process</Table.Th><Table.Th>Tier</Table.Th><Table.Th>Status</Table.Th><Table.Th>Dependencies</Table.Th>
              <Table.Th>KEV</Table.Th><Table.Th>Critical</Table.Th><Table.Th>High</Table.Th><Table.Th>Open failing</Table.Th>
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {a.exposure.map((e) => (
              <Table.Tr key={e.process_id} data-testid="bia-exposure-row">
                <Table.Td><Anchor component={Link} to={`/bia/${e.process_id}`}>{e.name}</Anchor></Table.Td>
                <Table.Td>{e.tier}</Table.Td>
                <Table.Td>{e.status}</Table.Td>
                <Table.Td>{e.dependencies}</Table.Td>
                <Table.Td>{e.kev > 0 ? <Badge color="grape">{e.kev}</Badge> : 0}</Table.Td>
                <Table.Td>{e.by_severity?.critical ?? 0}</Table.Td>
                <Table.Td>{e.by_severity?.high ?? 0}</Table.Td>
                <Table.Td>{e.open_findings}</Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      </Card>
      <SimpleGrid cols={{ base: 1, md: 2 }}>
        <Card withBorder>
          <Text fw={600} mb="xs">Recovery objective gaps</Text>
          {a.objective_gaps.length === 0 ? <Text size="sm" c="dimmed">None.</Text> : a.objective_gaps.map((g) => (
            <Group key={g.process_id} gap="xs">
              <Anchor component={Link} to={`/bia/${g.process_id}`} size="sm">{g.name}</Anchor>
              <Text size="xs" c="dimmed">RTO {hours(g.rto_hours)} · RPO {hours(g.rpo_hours)} · MTPD {hours(g.mtpd_hours)}</Text>
              {g.codes.map((c) => <Badge key={c} size="xs" color="orange" variant="light">{c.replaceAll("_", " ")}</Badge>)}
            </Group>
          ))}
        </Card>
        <Card withBorder>
          <Text fw={600} mb="xs">Overdue reviews</Text>
          {a.overdue_reviews.length === 0 ? <Text size="sm" c="dimmed">None.</Text> : a.overdue_reviews.map((o) => (
            <Group key={o.process_id} gap="xs">
              <Anchor component={Link} to={`/bia/${o.process_id}`} size="sm">{o.name}</Anchor>
              <Text size="xs" c="dimmed">due {new Date(o.review_due).toLocaleDateString()}, {o.days_overdue} days overdue</Text>
            </Group>
          ))}
        </Card>
      </SimpleGrid>
    </Stack>
  );
}
