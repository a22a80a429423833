import { useState } from "react";
import { Alert, Button, Group, Paper, Select, Text, TextInput } from "@mantine/core";
import { triageApi, type AssignableUser, type BulkRequest } from "../../api/triage";
import { ErrorAlert } from "../../components/ErrorAlert";
import { todayISO, untilFromDate } from "../../mute";
import { count, MAX_TICKETS, target, ticketIDs, type Selection } from "./selection";
import { useAuth } from "../../auth";
import { SendToTicketModal, useIntegrations } from "../../components/TicketsBox";
import { tickets } from "../../integrations";
import { api } from "../../api/client";

type Action = BulkRequest["action"];

const ACTIONS: { value: Action; label: string }[] = [
  { value: "accept_risk", label: "Accept risk" },
  { value: "mute", label: "Mute" },
  { value: "triage", label: "Set triage state" },
  { value: "assign", label: "Assign" },
  { value: "reopen", label: "Reopen (unmute, end triage)" },
];

// BulkBar acts on the selected findings, or on every finding the filter
// matches; the server caps it and says how many matched and changed.
// query is the same filter as the list's query parameters, which a ticket
// send of "all matching" reads its findings with.
export function BulkBar({ selection, total, filter, query = {}, users, onDone, onSelectAll, onClear }: {
  selection: Selection; total: number; filter: Record<string, unknown>; query?: Record<string, string>; users: AssignableUser[];
  onDone: () => void; onSelectAll: () => void; onClear: () => void;
}) {
  const [action, setAction] = useState<Action>("accept_risk");
  const [reason, setReason] = useState("");
  const [until, setUntil] = useState("");
  const [state, setState] = useState<"false_positive" | "out_of_scope" | "none">("false_positive");
  const [assignee, setAssignee] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [done, setDone] = useState("");
  const [ticketOpen, setTicketOpen] = useState(false);
  const { can } = useAuth();
  const systems = useIntegrations(can("tickets:create"));
  const n = count(selection, total);
  const tooMany = n > MAX_TICKETS;
  const sendTickets = async (integrationId: string) => {
    const ids = await ticketIDs(selection, api.findings, query);
    if (ids.length === 0) throw new Error("No finding matches the filter any more.");
    const r = await tickets.bulk(integrationId, "finding", ids);
    const by = (s: string) => r.results.filter((x) => x.status === s).length;
    const failed = r.results.filter((x) => x.status === "failed");
    setDone(`Tickets: ${by("created")} created, ${by("exists")} already ticketed${failed.length ? `, ${failed.length} failed (${failed[0].error})` : ""}.`);
    setError(null);
    onDone();
  };
  if (n === 0 && !done) return null;
  const needsReason = action === "mute" || action === "accept_risk" || (action === "triage" && state !== "none");
  const apply = () => {
    setBusy(true);
    const req: BulkRequest = { action, ...target(selection, filter) };
    if (needsReason) req.reason = reason;
    if ((action === "mute" || action === "accept_risk") && until) req.until = untilFromDate(until);
    if (action === "triage") req.state = state;
    if (action === "assign") req.assignee_id = assignee ?? "";
    triageApi.bulk(req).then(
      (r) => {
        setDone(`${r.matched} matched, ${r.changed} changed${r.pending ? `, ${r.pending} pending approval` : ""}.`);
        setError(null);
        setReason("");
        onDone();
      },
      setError,
    ).finally(() => setBusy(false));
  };
  return (
    <Paper withBorder p="sm" data-testid="bulk-bar">
      <ErrorAlert error={error} />
      {done && <Alert color="green" variant="light" mb="xs" withCloseButton onClose={() => setDone("")} data-testid="bulk-result">{done}</Alert>}
      {n > 0 && (
        <Group align="end" gap="xs">
          <Text size="sm" fw={500} data-testid="bulk-count">
            {selection.mode === "filter" ? `All ${n} matching` : `${n} selected`}
          </Text>
          {selection.mode === "ids" && total > n && (
            <Button size="xs" variant="subtle" onClick={onSelectAll} data-testid="bulk-select-all">Select all {total} matching</Button>
          )}
          <Button size="xs" variant="subtle" color="gray" onClick={onClear}>Clear</Button>
          <Select size="xs" label="Action" data={ACTIONS} value={action} onChange={(v) => v && setAction(v as Action)} w={210} allowDeselect={false}
            data-testid="bulk-action" />
          {action === "triage" && (
            <Select size="xs" label="State" w={160} allowDeselect={false} value={state} onChange={(v) => v && setState(v as typeof state)}
              data={[{ value: "false_positive", label: "False positive" }, { value: "out_of_scope", label: "Out of scope" }, { value: "none", label: "None (end it)" }]} />
          )}
          {action === "assign" && (
            <Select size="xs" label="Assignee" placeholder="Unassigned" clearable searchable w={240} value={assignee} onChange={setAssignee}
              data={users.map((u) => ({ value: u.id, label: u.email }))} />
          )}
          {needsReason && (
            <TextInput size="xs" label="Reason" value={reason} onChange={(e) => setReason(e.currentTarget.value)} style={{ flex: "1 1 200px" }}
              data-testid="bulk-reason" />
          )}
          {(action === "mute" || action === "accept_risk") && (
            <TextInput size="xs" type="date" label="Expires" min={todayISO()} value={until} onChange={(e) => setUntil(e.currentTarget.value)} w={150}
              data-testid="bulk-until" />
          )}
          <Button size="xs" loading={busy} disabled={needsReason && !reason.trim()} onClick={apply} data-testid="bulk-apply">Apply</Button>
          {systems.length > 0 && (
            <Button size="xs" variant="light" onClick={() => setTicketOpen(true)} data-testid="bulk-ticket" disabled={tooMany}>
              Send to ticket system
            </Button>
          )}
          {systems.length > 0 && tooMany && (
            // Said beside the button: a disabled button shows no tooltip.
            <Text size="xs" c="dimmed" data-testid="bulk-ticket-limit">
              Tickets: at most {MAX_TICKETS} at a time{selection.mode === "filter" ? "; narrow the filter" : ""}.
            </Text>
          )}
        </Group>
      )}
      <SendToTicketModal opened={ticketOpen} onClose={() => setTicketOpen(false)} systems={systems} what={selection.mode === "filter" ? `all ${n} matching findings` : `${n} finding${n === 1 ? "" : "s"}`}
        onSend={sendTickets} />
    </Paper>
  );
}
