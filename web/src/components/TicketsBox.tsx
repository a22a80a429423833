import { useEffect, useState } from "react";
import { Anchor, Badge, Button, Group, Select, Text } from "@mantine/core";
import { useAuth } from "../auth";
import { ErrorAlert } from "./ErrorAlert";
import { useAction } from "../useAction";
import { tickets, type Integration } from "../integrations";

export interface TicketView {
  key: string;
  url: string;
  state: string;
  status_name: string;
}

// TicketsBox shows a finding's or vulnerability's tickets and, for those
// who may, sends it to one of the team's ticket systems.
export function TicketsBox({ kind, id, list, onChange }: { kind: "finding" | "vulnerability"; id: string; list: TicketView[]; onChange: () => void }) {
  const { can } = useAuth();
  const [systems, setSystems] = useState<Integration[]>([]);
  const [target, setTarget] = useState<string | null>(null);
  const action = useAction();
  const allowed = can("tickets:create");
  useEffect(() => {
    if (allowed) tickets.integrations().then((r) => { setSystems(r.integrations); setTarget(r.integrations[0]?.id ?? null); }, () => setSystems([]));
  }, [allowed]);
  if (list.length === 0 && (!allowed || systems.length === 0)) return null;
  return (
    <Group gap="xs" data-testid="tickets-box">
      <Text size="sm" fw={500}>Tickets:</Text>
      {list.length === 0 && <Text size="sm" c="dimmed">none</Text>}
      {list.map((t) => (
        <Anchor key={t.key} href={t.url} target="_blank" rel="noreferrer noopener" size="sm">
          {t.key} <Badge size="xs" color={t.state === "done" ? "green" : "blue"}>{t.status_name || t.state}</Badge>
        </Anchor>
      ))}
      {allowed && systems.length > 0 && (
        <>
          <Select size="xs" w={180} value={target} onChange={setTarget} allowDeselect={false} aria-label="Ticket system"
            data={systems.map((s) => ({ value: s.id, label: s.name }))} />
          <Button size="xs" variant="light" loading={action.busy} disabled={!target} data-testid="ticket-create"
            onClick={() => action.run(async () => { await tickets.create(target!, kind, [id]); onChange(); })}>Create ticket</Button>
        </>
      )}
      <ErrorAlert error={action.error} />
    </Group>
  );
}
