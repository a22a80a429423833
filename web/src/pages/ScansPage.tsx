import { useEffect, useState } from "react";
import { Anchor, Badge, Stack, Table, Text, Title } from "@mantine/core";
import { Link } from "react-router-dom";
import { api, type ScanResult } from "../api/client";
import { ErrorAlert } from "../components/ErrorAlert";

const statusColor: Record<string, string> = { completed: "green", failed: "red", running: "blue", queued: "gray" };

export function ScansPage() {
  const [scans, setScans] = useState<ScanResult[]>([]);
  const [total, setTotal] = useState(0);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    api.scanResults({ limit: "100" }).then((r) => {
      setScans(r.scan_results);
      setTotal(r.total);
    }, setError);
  }, []);
  return (
    <Stack>
      <Title order={2}>Scan history</Title>
      <Text c="dimmed" size="sm">Cloud, network, web, container and code scans and imported reports, newest first ({total}).</Text>
      <ErrorAlert error={error} />
      <Table striped data-testid="scans-table">
        <Table.Thead>
          <Table.Tr>
            <Table.Th>Started</Table.Th>
            <Table.Th>Type</Table.Th>
            <Table.Th>Tool</Table.Th>
            <Table.Th>Source</Table.Th>
            <Table.Th>Status</Table.Th>
            <Table.Th>Items</Table.Th>
            <Table.Th>New / changed / resolved</Table.Th>
            <Table.Th />
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {scans.map((s) => (
            <Table.Tr key={s.id}>
              <Table.Td><Text size="xs">{new Date(s.started_at).toLocaleString()}</Text></Table.Td>
              <Table.Td>{s.scan_type}</Table.Td>
              <Table.Td>{s.tool}</Table.Td>
              <Table.Td><Text size="sm">{s.source}{s.filename ? ` · ${s.filename}` : ""}</Text></Table.Td>
              <Table.Td>
                <Badge color={statusColor[s.status] ?? "gray"} variant="light">{s.status}</Badge>
                {s.error && <Text size="xs" c="red" lineClamp={2}>{s.error}</Text>}
              </Table.Td>
              <Table.Td>{s.items_read}</Table.Td>
              <Table.Td>{s.findings_created} / {s.findings_updated} / {s.findings_resolved}</Table.Td>
              <Table.Td>{s.status === "completed" && <Anchor component={Link} to={`/findings?scan=${s.id}`} size="sm">findings</Anchor>}</Table.Td>
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
    </Stack>
  );
}
