import { useEffect, useState } from "react";
import { Anchor, Card, SimpleGrid, Stack, Table, Text, Title } from "@mantine/core";
import { BarChart, LineChart } from "@mantine/charts";
import { Link, useNavigate } from "react-router-dom";
import { api, type Overview } from "../api/client";
import { ErrorAlert } from "../components/ErrorAlert";
import { EmptyState, firstSteps } from "../components/EmptyState";
import { useAuth } from "../auth";
import { SEVERITIES, severityColor } from "../severity";
import { openFindingsHref, type FindingsFilter } from "../links";

// TopTable lists the largest counts of one dimension; each row links to the
// open findings it counts.
function TopTable({ title, counts, filter }: { title: string; counts: Record<string, number>; filter: keyof FindingsFilter }) {
  const rows = Object.entries(counts ?? {}).sort((a, b) => b[1] - a[1]).slice(0, 8);
  return (
    <Card withBorder>
      <Title order={5} mb="xs">{title}</Title>
      {rows.length === 0 && <Text c="dimmed" size="sm">Nothing open.</Text>}
      <Table layout="fixed">
        <Table.Tbody>
          {rows.map(([k, v]) => (
            <Table.Tr key={k}>
              <Table.Td style={{ overflowWrap: "anywhere" }}>
                {k ? (
                  <Anchor component={Link} to={openFindingsHref({ [filter]: k })} size="sm" data-testid={`top-${filter}-link`}>{k}</Anchor>
                ) : (
                  <Text size="sm" c="dimmed">(none)</Text>
                )}
              </Table.Td>
              <Table.Td ta="right" w={80}><Text size="sm" fw={600}>{v}</Text></Table.Td>
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
    </Card>
  );
}

// Tile is one count on the dashboard, a link to the findings it counts.
function Tile({ label, value, color, to, testid }: { label: string; value: number; color?: string; to: string; testid?: string }) {
  return (
    <Card withBorder component={Link} to={to} data-testid={testid ? `${testid}-tile` : undefined}
      style={{ textDecoration: "none", color: "inherit", borderLeft: color ? `4px solid var(--mantine-color-${color.replace(".", "-")})` : undefined }}>
      <Text size="sm" c="dimmed">{label}</Text>
      <Text fw={700} size="xl" c={color} data-testid={testid}>{value}</Text>
    </Card>
  );
}

export function PosturePage() {
  const { can } = useAuth();
  const navigate = useNavigate();
  const [o, setO] = useState<Overview | null>(null);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    api.overview().then(setO, setError);
  }, []);
  if (!o) return <ErrorAlert error={error} />;
  const open = SEVERITIES.reduce((n, s) => n + (o.open_by_severity[s] ?? 0), 0);
  const everything = Object.values(o.by_status ?? {}).reduce((n, v) => n + v, 0);
  // One series per severity, each bar in its own row: every bar gets its
  // severity's colour and a click opens that severity's open findings.
  const bars = SEVERITIES.map((s) => ({ severity: s, [s]: o.open_by_severity[s] ?? 0 }));
  return (
    <Stack>
      <Title order={2}>Posture overview</Title>
      {everything === 0 && (
        <EmptyState title="No findings yet" steps={firstSteps(can)} testid="posture-empty">
          Findings appear here once a report is imported, a cloud account is scanned, or a network, web or container scan runs.
        </EmptyState>
      )}
      <SimpleGrid cols={{ base: 2, sm: 3, lg: 6 }}>
        <Tile label="Open findings" value={open} to={openFindingsHref()} testid="open-total" />
        {SEVERITIES.map((s) => (
          <Tile key={s} label={s[0].toUpperCase() + s.slice(1)} value={o.open_by_severity[s] ?? 0} color={severityColor(s)} to={openFindingsHref({ severity: s })} testid={`open-${s}`} />
        ))}
      </SimpleGrid>
      <SimpleGrid cols={{ base: 1, md: 2 }}>
        <Card withBorder>
          <Title order={5} mb="sm">Open findings by severity</Title>
          <BarChart h={220} dataKey="severity" data={bars} type="stacked" data-testid="severity-chart"
            series={SEVERITIES.map((s) => ({ name: s, color: severityColor(s) }))}
            barProps={(series) => ({ cursor: "pointer", onClick: () => navigate(openFindingsHref({ severity: series.name })) })} />
        </Card>
        <Card withBorder>
          <Title order={5} mb="sm">Last 30 days</Title>
          <LineChart h={220} dataKey="day" data={o.trend} withLegend
            series={[{ name: "new", color: "orange.6" }, { name: "resolved", color: "green.6" }]} curveType="linear" />
        </Card>
      </SimpleGrid>
      <SimpleGrid cols={{ base: 1, md: 3 }}>
        <TopTable title="Open by service" counts={o.open_by_service} filter="service" />
        <TopTable title="Open by account" counts={o.open_by_account} filter="account" />
        <TopTable title="Open by tool" counts={o.open_by_tool} filter="tool" />
      </SimpleGrid>
    </Stack>
  );
}
