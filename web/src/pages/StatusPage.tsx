import { useCallback, useEffect, useState } from "react";
import { Alert, Badge, Card, Code, Group, Loader, SimpleGrid, Stack, Table, Text, Title, Tooltip } from "@mantine/core";
import { getSystemStatus, type SystemStatus } from "../api/client";
import { formatDuration, formatRelative, shortCommit } from "../format";

const REFRESH_MS = 10_000;
const JOB_STATES = ["available", "running", "scheduled", "retryable", "completed", "discarded", "cancelled"] as const;

export function StatusPage() {
  const [status, setStatus] = useState<SystemStatus | null>(null);
  const [error, setError] = useState<string | null>(null);

  const load = useCallback(async () => {
    try {
      setStatus(await getSystemStatus());
      setError(null);
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e));
    }
  }, []);

  useEffect(() => {
    void load();
    const t = setInterval(load, REFRESH_MS);
    return () => clearInterval(t);
  }, [load]);

  return (
    <Stack>
      <Title order={2}>System status</Title>
      {error && (
        <Alert color="red" title="The API did not answer" role="alert">
          {error}
        </Alert>
      )}
      {!status && !error && <Loader aria-label="Loading status" />}
      {status && <StatusView status={status} />}
    </Stack>
  );
}

function StatusView({ status }: { status: SystemStatus }) {
  const q = status.queue;
  const healthy = q.reachable && status.databases.every((d) => d.reachable);
  return (
    <Stack>
      <SimpleGrid cols={{ base: 1, sm: 3 }}>
        <Card withBorder>
          <Text size="sm" c="dimmed">Version</Text>
          <Text fw={700} size="xl" data-testid="status-version">{status.version.version}</Text>
          <Text size="xs" c="dimmed">
            commit {shortCommit(status.version.commit)} · {status.version.go_version}
          </Text>
        </Card>
        <Card withBorder>
          <Text size="sm" c="dimmed">Database engine</Text>
          <Text fw={700} size="xl" data-testid="status-engine">{status.engine === "sqlite" ? "SQLite (embedded)" : status.engine === "postgres" ? "PostgreSQL" : "mixed"}</Text>
          <Text size="xs" c="dimmed">up {formatDuration(status.uptime_seconds)}</Text>
        </Card>
        <Card withBorder>
          <Text size="sm" c="dimmed">Job queue</Text>
          <Group gap="xs">
            <Badge color={healthy ? "green" : "red"} size="lg" data-testid="status-queue">
              {q.reachable ? "healthy" : "unreachable"}
            </Badge>
          </Group>
          <Text size="xs" c="dimmed" mt={4}>
            {q.workers_in_process ? "Workers run in this process." : "No workers in this process (serve --no-workers)."}
          </Text>
          <Text size="xs" c="dimmed">
            {q.leader ? `leader ${q.leader}` : "no leader elected"} · oldest waiting job {formatDuration(q.oldest_available_seconds)}
          </Text>
        </Card>
      </SimpleGrid>

      <Card withBorder>
        <Title order={4} mb="sm">Databases</Title>
        <Table striped>
          <Table.Thead>
            <Table.Tr>
              <Table.Th>Logical database</Table.Th>
              <Table.Th>Engine</Table.Th>
              <Table.Th>Schema version</Table.Th>
              <Table.Th>State</Table.Th>
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {status.databases.map((d) => (
              <Table.Tr key={d.name}>
                <Table.Td><code>{d.name}</code></Table.Td>
                <Table.Td>{d.engine}</Table.Td>
                <Table.Td>{d.schema_version}</Table.Td>
                <Table.Td>
                  <Text size="sm" fw={600} c={d.reachable ? "green.8" : "red.8"}>{d.reachable ? "reachable" : "unreachable"}</Text>
                </Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      </Card>

      <ToolsCard status={status} />
      <WorkersCard status={status} />

      <Card withBorder>
        <Title order={4} mb="sm">Jobs by state</Title>
        <Group>
          {JOB_STATES.map((s) => (
            <Stack key={s} gap={0} align="center" miw={90}>
              <Text fw={700} size="lg" data-testid={`jobs-${s}`}>{q.jobs?.[s] ?? 0}</Text>
              <Text size="xs" c="dimmed">{s}</Text>
            </Stack>
          ))}
        </Group>
        <Text size="xs" c="dimmed" mt="sm">River schema version {q.river_schema_version}</Text>
      </Card>
    </Stack>
  );
}

// ToolsCard lists the scanners this process finds: found or not, version,
// path, the setting that names each, and how to install a missing one.
function ToolsCard({ status }: { status: SystemStatus }) {
  const tools = status.tools;
  return (
    <Card withBorder data-testid="status-tools">
      <Title order={4} mb="sm">Scanners</Title>
      {!tools && <Text size="sm" c="dimmed">Sign in to see the scanners installed on this machine.</Text>}
      {tools && (
        <>
          <Text size="xs" c="dimmed" mb="xs">
            {status.queue.workers_in_process
              ? "On this machine, where the workers run. A scan whose scanner is missing is refused before it is queued."
              : "On this machine. The workers run in other processes, which may have other tools: a scan is checked against the scanners they report, and cspm doctor on each worker machine lists them."}
          </Text>
          <Table.ScrollContainer minWidth={720}>
            <Table striped>
              <Table.Thead>
                <Table.Tr>
                  <Table.Th>Scanner</Table.Th>
                  <Table.Th>State</Table.Th>
                  <Table.Th>Version</Table.Th>
                  <Table.Th>Path</Table.Th>
                  <Table.Th>Setting</Table.Th>
                </Table.Tr>
              </Table.Thead>
              <Table.Tbody>
                {tools.map((t) => (
                  <Table.Tr key={t.name} data-testid="tool-row" data-tool={t.name} data-found={t.found ? "true" : "false"}>
                    <Table.Td>
                      <Text size="sm" fw={600}>{t.label}</Text>
                      <Text size="xs" c="dimmed">{t.scan_types.join(", ")} scans{t.via ? ` · in ${t.via}` : ""}</Text>
                    </Table.Td>
                    <Table.Td>
                      <Badge color={t.found ? (t.problem ? "yellow" : "green") : "red"} variant="light">{t.found ? "installed" : "missing"}</Badge>
                    </Table.Td>
                    <Table.Td><Text size="sm" style={{ overflowWrap: "anywhere" }}>{t.version || "—"}</Text></Table.Td>
                    <Table.Td>
                      {t.path ? <Code style={{ overflowWrap: "anywhere" }}>{t.path}</Code> : <Text size="sm">—</Text>}
                      {t.problem && <Text size="xs" c={t.found ? "yellow.8" : "red.8"} style={{ overflowWrap: "anywhere" }}>{t.problem}</Text>}
                      {!t.found && <Text size="xs" style={{ overflowWrap: "anywhere" }} data-testid="tool-install">Install: {t.install}</Text>}
                    </Table.Td>
                    <Table.Td><Code>{t.setting}</Code><Text size="xs" c="dimmed">{t.env}</Text></Table.Td>
                  </Table.Tr>
                ))}
              </Table.Tbody>
            </Table>
          </Table.ScrollContainer>
        </>
      )}
    </Card>
  );
}

// WorkersCard lists what each worker process reported of its scanners in
// the last minutes: an API process without workers checks scans against
// these reports, so a tool missing everywhere shows here first.
function WorkersCard({ status }: { status: SystemStatus }) {
  const workers = status.workers;
  if (!workers) return null;
  const tools = [...new Set(workers.flatMap((w) => w.tools.map((t) => t.name)))].sort();
  return (
    <Card withBorder data-testid="status-workers">
      <Title order={4} mb="sm">Workers</Title>
      {workers.length === 0 ? (
        <Text size="sm" c="dimmed">No worker reported in the last three minutes: start one (cspm serve, or cspm worker), or check its logs.</Text>
      ) : (
        <Table.ScrollContainer minWidth={Math.max(480, 160 + tools.length * 90)}>
          <Table striped>
            <Table.Thead>
              <Table.Tr>
                <Table.Th>Worker</Table.Th>
                {tools.map((t) => <Table.Th key={t}>{t}</Table.Th>)}
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {workers.map((w) => (
                <Table.Tr key={w.worker_id} data-testid="worker-row">
                  <Table.Td>
                    <Text size="sm" style={{ overflowWrap: "anywhere" }}>{w.worker_id}</Text>
                    <Text size="xs" c="dimmed">{formatRelative(w.reported_at)}</Text>
                  </Table.Td>
                  {tools.map((name) => {
                    const t = w.tools.find((x) => x.name === name);
                    return (
                      <Table.Td key={name}>
                        {t ? <Tooltip label={t.problem || (t.found ? "installed" : "missing")} disabled={!t.problem}>
                          <Badge color={t.found ? "green" : "red"} variant="light" data-testid={`worker-tool-${name}`}>{t.found ? "yes" : "no"}</Badge>
                        </Tooltip> : "—"}
                      </Table.Td>
                    );
                  })}
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        </Table.ScrollContainer>
      )}
    </Card>
  );
}
