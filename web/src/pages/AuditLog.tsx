import { useCallback, useEffect, useState } from "react";
import { Badge, Button, Code, Group, Select, Table, Text, TextInput } from "@mantine/core";
import { api, type AuditEvent } from "../api/client";
import { ErrorAlert } from "../components/ErrorAlert";

const PAGE = 50;

export function AuditLog() {
  const [events, setEvents] = useState<AuditEvent[]>([]);
  const [next, setNext] = useState<number | undefined>();
  const [action, setAction] = useState("");
  const [outcome, setOutcome] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);

  const load = useCallback(
    async (before?: number) => {
      const params: Record<string, string> = { limit: String(PAGE) };
      if (action) params.action = action;
      if (outcome) params.outcome = outcome;
      if (before) params.before = String(before);
      try {
        const res = await api.audit(params);
        setEvents((prev) => (before ? [...prev, ...res.events] : res.events));
        setNext(res.next_before || undefined);
        setError(null);
      } catch (err) {
        setError(err);
      }
    },
    [action, outcome],
  );
  useEffect(() => {
    void load();
  }, [load]);

  return (
    <>
      <ErrorAlert error={error} />
      <Group mb="sm" align="end">
        <TextInput label="Action" placeholder="auth. or user.role_changed" value={action} onChange={(e) => setAction(e.currentTarget.value)} />
        <Select label="Outcome" clearable data={["success", "failure", "denied"]} value={outcome} onChange={setOutcome} w={160} />
      </Group>
      <Table.ScrollContainer minWidth={900}>
      <Table striped data-testid="audit-table">
        <Table.Thead>
          <Table.Tr>
            <Table.Th>When</Table.Th>
            <Table.Th>Action</Table.Th>
            <Table.Th>Outcome</Table.Th>
            <Table.Th>Actor</Table.Th>
            <Table.Th>Target</Table.Th>
            <Table.Th>From</Table.Th>
            <Table.Th>Details</Table.Th>
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {events.map((e) => (
            <Table.Tr key={e.id}>
              <Table.Td><Text size="xs">{new Date(e.occurred_at).toLocaleString()}</Text></Table.Td>
              <Table.Td><Code>{e.action}</Code></Table.Td>
              <Table.Td>
                <Badge variant="light" miw="max-content" color={e.outcome === "success" ? "green" : e.outcome === "failure" ? "orange" : "red"}>{e.outcome}</Badge>
              </Table.Td>
              <Table.Td><Text size="sm">{e.actor_email}</Text></Table.Td>
              <Table.Td><Text size="xs" style={{ overflowWrap: "anywhere" }}>{e.target_type} {e.target_id}</Text></Table.Td>
              <Table.Td><Text size="xs">{e.ip}</Text></Table.Td>
              <Table.Td maw={420}>
                {/* Details are JSON with long unbroken values: wrapped, never widening the table. */}
                <Text size="xs" ff="monospace" lineClamp={4} title={JSON.stringify(e.details)} style={{ overflowWrap: "anywhere" }}>
                  {Object.keys(e.details ?? {}).length ? JSON.stringify(e.details) : ""}
                </Text>
              </Table.Td>
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
      </Table.ScrollContainer>
      {next && (
        <Button variant="light" mt="sm" onClick={() => load(next)}>
          Older events
        </Button>
      )}
    </>
  );
}
