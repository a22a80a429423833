import { useEffect, useState } from "react";
import { Alert, Anchor, Badge, Button, Code, Collapse, Group, Paper, Select, Stack, Table, Text, Textarea, TextInput, Timeline, Title } from "@mantine/core";
import { api, type FindingDetail } from "../../api/client";
import { triageApi, RISK_APPROVERS, type AssignableUser, type RiskAcceptance } from "../../api/triage";
import { ErrorAlert } from "../../components/ErrorAlert";
import { SeverityBadge } from "../../components/SeverityBadge";
import { useAuth } from "../../auth";
import { muteInfo, todayISO, untilFromDate, type MuteFields } from "../../mute";
import { FindingStatusBadge } from "./FindingStatusBadge";
import { Link } from "react-router-dom";
import { likeThisHref } from "../../muteRules";
import { TicketsBox } from "../../components/TicketsBox";

// Long unbroken values (ARNs, URLs, check IDs) wrap instead of widening the page.
export const wrap = { overflowWrap: "anywhere" as const, wordBreak: "break-word" as const };

const day = (s?: string | null) => (s ? new Date(s).toLocaleDateString() : "");
const when = (s?: string | null) => (s ? new Date(s).toLocaleString() : "");

// MuteSummary says what kind of mute covers a finding, why, by whom and
// until when.
export function MuteSummary({ f }: { f: MuteFields }) {
  const m = muteInfo(f);
  if (!m) return null;
  return (
    <Alert color={m.color} variant="light" title={m.kind === "risk_accepted" ? "Risk accepted" : m.kind === "rule" ? "Muted by a mute rule" : m.kind === "tool" ? "Suppressed by the report" : "Muted"}
      data-testid="mute-summary">
      {m.detailed && <Stack gap={2}>
        <Text size="sm" style={wrap}>{m.reason ? `Reason: ${m.reason}` : "No reason recorded."}</Text>
        {m.by && <Text size="sm">By {m.by}</Text>}
        <Text size="sm" data-testid="mute-until-text">
          {m.until ? (m.expired ? `Expired ${m.until.toLocaleDateString()}` : `Until ${m.until.toLocaleDateString()}`) : "No end date"}
        </Text>
      </Stack>}
    </Alert>
  );
}

// TriageSummary shows a false positive or out-of-scope finding's reason.
function TriageSummary({ f }: { f: FindingDetail }) {
  if (f.status !== "false_positive" && f.status !== "out_of_scope") return null;
  return (
    <Alert color="teal" variant="light" title={f.status === "false_positive" ? "False positive" : "Out of scope"} data-testid="triage-summary">
      <Text size="sm" style={wrap}>Reason: {f.triage_reason || "none recorded"}</Text>
      <Text size="sm">By {f.triaged_by}{f.triaged_at ? `, ${when(f.triaged_at)}` : ""}. Later scans keep it so.</Text>
    </Alert>
  );
}

const RISK_COLORS: Record<string, string> = { pending: "yellow", approved: "violet", rejected: "red", revoked: "gray", expired: "gray" };

// RiskAcceptances lists a finding's risk acceptances; an approver other
// than the requester decides a pending one here.
function RiskAcceptances({ f, onChange }: { f: FindingDetail; onChange: () => void }) {
  const { me } = useAuth();
  const [note, setNote] = useState("");
  const [error, setError] = useState<unknown>(null);
  const list = (f.risk_acceptances ?? []) as RiskAcceptance[];
  if (!list.length) return null;
  const approver = !!me && RISK_APPROVERS.includes(me.role);
  const decide = (approve: boolean) =>
    triageApi.decideRisk(f.id, approve, note).then(() => { setNote(""); setError(null); onChange(); }, setError);
  return (
    <Stack gap="xs" data-testid="risk-acceptances">
      <Title order={5}>Risk acceptance</Title>
      <ErrorAlert error={error} />
      {list.map((ra) => (
        <Paper key={ra.id} withBorder p="xs" data-testid={`risk-${ra.state}`}>
          <Group gap="xs">
            <Badge color={RISK_COLORS[ra.state] ?? "gray"} variant="light">{ra.state}</Badge>
            <Text size="sm" style={wrap} data-testid="risk-reason">{ra.reason}</Text>
          </Group>
          <Text size="xs" c="dimmed">
            Requested by {ra.requested_by} {when(ra.requested_at)} · {ra.expires_at ? <span data-testid="risk-expiry">expires {day(ra.expires_at)}</span> : "no expiry"}
            {ra.decided_by && ra.state !== "pending" ? ` · ${ra.state} by ${ra.decided_by} ${when(ra.decided_at)}` : ""}
            {ra.note ? ` · ${ra.note}` : ""}
          </Text>
          {ra.state === "pending" && (approver && me?.user.email.toLowerCase() !== ra.requested_by.toLowerCase() ? (
            <Group gap="xs" mt="xs" align="end">
              <TextInput size="xs" placeholder="note (optional)" value={note} onChange={(e) => setNote(e.currentTarget.value)} style={{ flex: 1 }} />
              <Button size="xs" color="violet" onClick={() => decide(true)} data-testid="risk-approve">Approve</Button>
              <Button size="xs" variant="light" color="red" onClick={() => decide(false)} data-testid="risk-reject">Reject</Button>
            </Group>
          ) : (
            <Text size="xs" mt={4}>Waiting for a security manager, compliance officer or admin other than the requester.</Text>
          ))}
        </Paper>
      ))}
    </Stack>
  );
}

// TriagePanel: assignee, triage state, mute, risk acceptance and reopen.
function TriagePanel({ f, users, onChange }: { f: FindingDetail; users: AssignableUser[]; onChange: () => void }) {
  const { can } = useAuth();
  const [reason, setReason] = useState("");
  const [until, setUntil] = useState("");
  const [error, setError] = useState<unknown>(null);
  if (!can("findings:triage")) return null;
  const act = (fn: () => Promise<unknown>) => fn().then(() => { setReason(""); setUntil(""); setError(null); onChange(); }, setError);
  const parked = f.status === "muted" || f.status === "false_positive" || f.status === "out_of_scope";
  return (
    <Stack gap="xs" data-testid="triage">
      <ErrorAlert error={error} />
      <Select size="xs" label="Assignee" placeholder="Unassigned" clearable searchable data-testid="assignee-picker"
        data={users.map((u) => ({ value: u.id, label: `${u.email} (${u.role})` }))}
        value={f.assignee_id || null} onChange={(v) => act(() => triageApi.assign(f.id, v ?? ""))} />
      {parked || f.risk_pending ? (
        <Group justify="flex-end">
          <Button size="xs" variant="light" onClick={() => act(() => triageApi.reopen(f.id))}
            data-testid={f.status === "muted" ? "unmute" : "reopen"}>
            {f.risk_pending && !parked ? "Withdraw the risk acceptance" : f.mute_kind === "risk_accepted" ? "Revoke risk acceptance" : f.status === "muted" ? "Unmute" : "Reopen"}
          </Button>
        </Group>
      ) : (
        <Group align="end" gap="xs">
          <TextInput size="xs" label="Reason" placeholder="why" value={reason} onChange={(e) => setReason(e.currentTarget.value)}
            style={{ flex: "1 1 220px" }} data-testid="mute-reason" />
          <TextInput size="xs" type="date" label="Until (optional)" min={todayISO()} value={until} onChange={(e) => setUntil(e.currentTarget.value)}
            w={150} data-testid="mute-until" />
          <Group gap="xs">
            <Button size="xs" variant="light" disabled={!reason} onClick={() => act(() => api.muteFinding(f.id, "mute", reason, untilFromDate(until)))} data-testid="mute">Mute</Button>
            <Button size="xs" variant="light" color="violet" disabled={!reason}
              onClick={() => act(() => triageApi.acceptRisk(f.id, reason, untilFromDate(until)))} data-testid="accept-risk">Accept risk</Button>
            <Button size="xs" variant="light" color="teal" disabled={!reason}
              onClick={() => act(() => triageApi.setTriage(f.id, "false_positive", reason))} data-testid="mark-false-positive">False positive</Button>
            <Button size="xs" variant="light" color="teal" disabled={!reason}
              onClick={() => act(() => triageApi.setTriage(f.id, "out_of_scope", reason))} data-testid="mark-out-of-scope">Out of scope</Button>
          </Group>
          <Anchor component={Link} to={likeThisHref(f)} size="xs" data-testid="mute-like-this">Mute everything like this…</Anchor>
        </Group>
      )}
    </Stack>
  );
}

function Comments({ f, onChange }: { f: FindingDetail; onChange: () => void }) {
  const { can } = useAuth();
  const [body, setBody] = useState("");
  const [error, setError] = useState<unknown>(null);
  const comments = f.comments ?? [];
  return (
    <Stack gap="xs" data-testid="comments">
      <Title order={5}>Comments</Title>
      {comments.length === 0 && <Text size="sm" c="dimmed">No comments yet.</Text>}
      {comments.map((c) => (
        <Paper key={c.id} withBorder p="xs">
          <Text size="xs" c="dimmed">{c.author} · {when(c.at)}</Text>
          <Text size="sm" style={{ ...wrap, whiteSpace: "pre-wrap" }}>{c.body}</Text>
        </Paper>
      ))}
      {can("findings:triage") && (
        <>
          <ErrorAlert error={error} />
          <Textarea size="xs" placeholder="Add a comment" autosize minRows={2} maxLength={4000} value={body}
            onChange={(e) => setBody(e.currentTarget.value)} data-testid="comment-body" />
          <Group justify="space-between">
            <Text size="xs" c="dimmed">{body.length} / 4000</Text>
            <Button size="xs" disabled={!body.trim()} data-testid="comment-add"
              onClick={() => triageApi.comment(f.id, body).then(() => { setBody(""); setError(null); onChange(); }, setError)}>Comment</Button>
          </Group>
        </>
      )}
    </Stack>
  );
}

export function FindingDetailView({ f, onChange }: { f: FindingDetail; onChange: () => void }) {
  const [raw, setRaw] = useState(false);
  const [users, setUsers] = useState<AssignableUser[]>([]);
  useEffect(() => {
    triageApi.assignees().then((r) => setUsers(r.users), () => setUsers([]));
  }, []);
  return (
    <Stack data-testid="finding-detail" style={{ minWidth: 0 }}>
      <Group gap="xs">
        <SeverityBadge severity={f.severity} />
        <FindingStatusBadge f={f} />
        <Badge variant="outline">{f.tool}</Badge>
        <Code style={wrap}>{f.check_id}</Code>
        {f.assignee_email && <Badge variant="dot" data-testid="assignee-badge">{f.assignee_email}</Badge>}
      </Group>
      <TicketsBox kind="finding" id={String(f.id)} list={f.tickets ?? []} onChange={onChange} />
      <MuteSummary f={f as MuteFields} />
      <TriageSummary f={f} />
      <TriagePanel f={f} users={users} onChange={onChange} />
      <RiskAcceptances f={f} onChange={onChange} />
      <Text size="sm" style={wrap}>{f.description}</Text>
      <Table layout="fixed">
        <Table.Tbody>
          {[
            ["Resource", f.resource_uid || f.target],
            ["Tags", f.resource_tags.join(", ")],
            ["Location", f.location],
            ["Provider", f.provider],
            ["Account / region", [f.account_uid, f.region].filter(Boolean).join(" / ")],
            ["Result", f.result],
            ["Component", [f.component, f.version].filter(Boolean).join(" ")],
            ["Fixed in", f.fixed_version],
            ["Vulnerabilities", f.vuln_ids.join(", ")],
            ["Assignee", f.assignee_email ?? ""],
            ["First seen", new Date(f.first_seen).toLocaleString()],
          ]
            .filter(([, v]) => v)
            .map(([k, v]) => (
              <Table.Tr key={k}>
                <Table.Td w={130} style={{ verticalAlign: "top" }}><Text size="sm" c="dimmed">{k}</Text></Table.Td>
                <Table.Td><Text size="sm" style={wrap}>{v}</Text></Table.Td>
              </Table.Tr>
            ))}
        </Table.Tbody>
      </Table>
      {f.remediation && (
        <>
          <Title order={5}>Remediation</Title>
          <Text size="sm" style={wrap} data-testid="finding-remediation">{f.remediation}</Text>
        </>
      )}
      <Comments f={f} onChange={onChange} />
      <Title order={5}>History</Title>
      <Timeline bulletSize={14} lineWidth={2} data-testid="finding-history">
        {f.history.map((h, i) => (
          <Timeline.Item key={i} title={h.change.replace(/_/g, " ")}>
            <Text size="xs" c="dimmed">
              {new Date(h.at).toLocaleString()}{h.actor ? ` · ${h.actor}` : ""} · {h.from_status && h.from_status !== h.to_status ? `${h.from_status} → ` : ""}{h.to_status}
            </Text>
            {h.note && <Text size="xs" style={wrap}>{h.note}</Text>}
          </Timeline.Item>
        ))}
      </Timeline>
      <Anchor component="button" type="button" size="sm" onClick={() => setRaw((v) => !v)} data-testid="ocsf-toggle" ta="left">
        {raw ? "Hide the raw OCSF" : "Show the raw OCSF"}
      </Anchor>
      <Collapse expanded={raw}>
        {/* Wrapped, and scrolled within its own box: a raw record never widens the drawer. */}
        <Code block data-testid="finding-ocsf"
          style={{ whiteSpace: "pre-wrap", ...wrap, maxHeight: 480, overflow: "auto" }}>
          {JSON.stringify(f.raw_ocsf, null, 2)}
        </Code>
      </Collapse>
    </Stack>
  );
}
