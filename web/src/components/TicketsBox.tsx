import { useEffect, useState } from "react";
import { Anchor, Badge, Button, Group, Modal, Select, Stack, Text } from "@mantine/core";
import { useAuth } from "../auth";
import { ErrorAlert } from "./ErrorAlert";
import { useAction } from "../useAction";
import { tickets, type Integration } from "../integrations";

export interface TicketView {
  key: string;
  url: string;
  state: string;
  status_name: string;
  integration_kind?: string;
}

const KIND_LABELS: Record<string, string> = { jira: "Jira", github: "GitHub" };

// TicketBadge is a ticket as a link to it, with its system and status.
export function TicketBadge({ t }: { t: TicketView }) {
  return (
    <Anchor href={t.url} target="_blank" rel="noreferrer noopener" size="sm" data-testid="ticket-link">
      {t.key} <Badge size="xs" color={t.state === "done" ? "green" : "blue"}>{t.status_name || t.state}</Badge>
      {t.integration_kind && <Badge size="xs" variant="outline" ml={4}>{KIND_LABELS[t.integration_kind] ?? t.integration_kind}</Badge>}
    </Anchor>
  );
}

// useIntegrations lists the team's ticket systems for those who may send.
export function useIntegrations(allowed: boolean): Integration[] {
  const [systems, setSystems] = useState<Integration[]>([]);
  useEffect(() => {
    if (allowed) tickets.integrations().then((r) => setSystems(r.integrations), () => setSystems([]));
  }, [allowed]);
  return systems;
}

// SendToTicketModal picks one of the team's ticket systems and sends.
export function SendToTicketModal({ opened, onClose, systems, what, onSend }: {
  opened: boolean; onClose: () => void; systems: Integration[]; what: string; onSend: (integrationId: string) => Promise<void>;
}) {
  const [target, setTarget] = useState<string | null>(null);
  const action = useAction();
  const chosen = target ?? systems[0]?.id ?? null;
  return (
    <Modal opened={opened} onClose={onClose} title={`Send ${what} to a ticket system`} data-testid="ticket-modal">
      <Stack>
        <Select label="Ticket system" value={chosen} onChange={setTarget} allowDeselect={false} data-testid="ticket-integration"
          data={systems.map((s) => ({ value: s.id, label: `${s.name} (${KIND_LABELS[s.kind] ?? s.kind}: ${s.project})` }))} />
        <ErrorAlert error={action.error} />
        <Group justify="end">
          <Button variant="default" onClick={onClose}>Cancel</Button>
          <Button loading={action.busy} disabled={!chosen} data-testid="ticket-send"
            onClick={() => action.run(async () => { await onSend(chosen!); onClose(); })}>Send</Button>
        </Group>
      </Stack>
    </Modal>
  );
}

// TicketsBox shows a finding's or vulnerability's tickets and, for those
// who may, sends it to one of the team's ticket systems (Jira, GitHub).
export function TicketsBox({ kind, id, list, onChange }: { kind: "finding" | "vulnerability"; id: string; list: TicketView[]; onChange: () => void }) {
  const { can } = useAuth();
  const allowed = can("tickets:create");
  const systems = useIntegrations(allowed);
  const [open, setOpen] = useState(false);
  if (list.length === 0 && (!allowed || systems.length === 0)) return null;
  return (
    <Group gap="xs" data-testid="tickets-box">
      <Text size="sm" fw={500}>Tickets:</Text>
      {list.length === 0 && <Text size="sm" c="dimmed">none</Text>}
      {list.map((t) => <TicketBadge key={t.key} t={t} />)}
      {allowed && systems.length > 0 && (
        <Button size="xs" variant="light" data-testid="ticket-create" onClick={() => setOpen(true)}>Send to Jira/GitHub</Button>
      )}
      <SendToTicketModal opened={open} onClose={() => setOpen(false)} systems={systems} what={`this ${kind}`}
        onSend={async (integrationId) => { await tickets.create(integrationId, kind, [id]); onChange(); }} />
    </Group>
  );
}
