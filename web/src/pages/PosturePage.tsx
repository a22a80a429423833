import { useEffect, useState } from "react";
import { Card, Group, SimpleGrid, Stack, Table, Text, Title } from "@mantine/core";
import { BarChart, LineChart } from "@mantine/charts";
import { api, type Overview } from "../api/client";
import { ErrorAlert } from "../components/ErrorAlert";
import { severityColor } from "../components/SeverityBadge";

const SEVERITIES = ["critical", "high", "medium", "low", "informational"];

function TopTable({ title, counts }: { title: string; counts: Record<string, number> }) {
  const rows = Object.entries(counts ?? {}).sort((a, b) => b[1] - a[1]).slice(0, 8);
  return (
    <Card withBorder>
      <Title order={5} mb="xs">{title}</Title>
      {rows.length === 0 && <Text c="dimmed" size="sm">Nothing open.</Text>}
      <Table>
        <Table.Tbody>
          {rows.map(([k, v]) => (
            <Table.Tr key={k}>
              <Table.Td><Text size="sm">{k || "(none)"}</Text></Table.Td>
              <Table.Td ta="right"><Text size="sm" fw={600}>{v}</Text></Table.Td>
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
    </Card>
  );
}

export function PosturePage() {
  const [o, setO] = useState<Overview | null>(null);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    api.overview().then(setO, setError);
  }, []);
  if (!o) return <ErrorAlert error={error} />;
  const open = SEVERITIES.reduce((n, s) => n + (o.open_by_severity[s] ?? 0), 0);
  return (
    <Stack>
      <Title order={2}>Posture overview</Title>
      <SimpleGrid cols={{ base: 2, sm: 3, lg: 6 }}>
        <Card withBorder>
          <Text size="sm" c="dimmed">Open findings</Text>
          <Text fw={700} size="xl" data-testid="open-total">{open}</Text>
        </Card>
        {SEVERITIES.map((s) => (
          <Card withBorder key={s}>
            <Text size="sm" c="dimmed" tt="capitalize">{s}</Text>
            <Text fw={700} size="xl" c={severityColor[s]}>{o.open_by_severity[s] ?? 0}</Text>
          </Card>
        ))}
      </SimpleGrid>
      <SimpleGrid cols={{ base: 1, md: 2 }}>
        <Card withBorder>
          <Title order={5} mb="sm">Open findings by severity</Title>
          <BarChart h={220} dataKey="severity" data={SEVERITIES.map((s) => ({ severity: s, open: o.open_by_severity[s] ?? 0 }))}
            series={[{ name: "open", color: "red.6" }]} />
        </Card>
        <Card withBorder>
          <Title order={5} mb="sm">Last 30 days</Title>
          <LineChart h={220} dataKey="day" data={o.trend} withLegend
            series={[{ name: "new", color: "red.6" }, { name: "resolved", color: "green.6" }]} curveType="linear" />
        </Card>
      </SimpleGrid>
      <Group grow align="start">
        <TopTable title="Open by service" counts={o.open_by_service} />
        <TopTable title="Open by account" counts={o.open_by_account} />
        <TopTable title="Open by tool" counts={o.open_by_tool} />
      </Group>
    </Stack>
  );
}
