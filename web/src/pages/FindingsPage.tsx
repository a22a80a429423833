import { useCallback, useEffect, useState } from "react";
import { Alert, Anchor, Badge, Button, Code, Collapse, Drawer, Group, MultiSelect, Stack, Table, Text, TextInput, Timeline, Title } from "@mantine/core";
import { useSearchParams } from "react-router-dom";
import { api, type Finding, type FindingDetail, type FindingList } from "../api/client";
import { ErrorAlert } from "../components/ErrorAlert";
import { EmptyState, firstSteps } from "../components/EmptyState";
import { useAuth } from "../auth";
import { SeverityBadge, StatusBadge } from "../components/SeverityBadge";
import { SEVERITIES } from "../severity";
import { muteInfo, todayISO, untilFromDate, type MuteFields } from "../mute";

// Long unbroken values (ARNs, URLs, check IDs) wrap instead of widening the page.
const wrap = { overflowWrap: "anywhere" as const, wordBreak: "break-word" as const };
const FILTERS = ["severity", "status", "tool", "service", "account", "region", "check", "resource", "scan", "q"];
const STATUSES = ["open", "reopened", "resolved", "muted"];

export function FindingsPage() {
  const { can } = useAuth();
  const [params, setParams] = useSearchParams();
  const [list, setList] = useState<FindingList | null>(null);
  const [rows, setRows] = useState<Finding[]>([]);
  const [error, setError] = useState<unknown>(null);
  const [selected, setSelected] = useState<FindingDetail | null>(null);
  const [text, setText] = useState(params.get("q") ?? "");

  const get = (k: string) => (params.get(k) ? params.get(k)!.split(",") : []);
  const query = useCallback(
    (cursor?: string) => {
      const q: Record<string, string> = { limit: "50", facets: "true" };
      for (const k of FILTERS) {
        const v = params.get(k);
        if (v) q[k] = v;
      }
      if (cursor) q.cursor = cursor;
      return q;
    },
    [params],
  );

  useEffect(() => {
    api.findings(query()).then(
      (res) => {
        setList(res);
        setRows(res.findings);
        setError(null);
      },
      setError,
    );
  }, [query]);

  const set = (k: string, v: string[]) => {
    const next = new URLSearchParams(params);
    if (v.length) next.set(k, v.join(","));
    else next.delete(k);
    setParams(next);
  };
  const facet = (name: keyof NonNullable<FindingList["facets"]>) =>
    Object.entries(list?.facets?.[name] ?? {}).map(([k, n]) => ({ value: k, label: `${k || "(none)"} (${n})` }));

  return (
    <Stack>
      <Title order={2}>Findings</Title>
      <ErrorAlert error={error} />
      <Group align="end">
        <MultiSelect label="Severity" data={SEVERITIES} value={get("severity")} onChange={(v) => set("severity", v)} w={260} clearable data-testid="filter-severity" />
        <MultiSelect label="Status" data={STATUSES} value={get("status")} onChange={(v) => set("status", v)} w={240} clearable />
        <MultiSelect label="Tool" data={facet("tool")} value={get("tool")} onChange={(v) => set("tool", v)} w={200} clearable searchable />
        <MultiSelect label="Service" data={facet("service")} value={get("service")} onChange={(v) => set("service", v)} w={200} clearable searchable />
        <form onSubmit={(e) => { e.preventDefault(); set("q", text ? [text] : []); }}>
          <TextInput label="Search" placeholder="title, check, resource" value={text} onChange={(e) => setText(e.currentTarget.value)} name="q" />
        </form>
      </Group>
      {params.get("scan") && (
        <Group gap="xs">
          <Badge variant="light">scan {params.get("scan")}</Badge>
          <Button size="xs" variant="subtle" onClick={() => set("scan", [])}>clear</Button>
        </Group>
      )}
      <Text size="sm" c="dimmed" data-testid="findings-total">{list ? `${list.total} findings` : ""}</Text>
      {list && list.total === 0 && (FILTERS.some((k) => params.get(k)) ? (
        <EmptyState title="No findings match these filters" steps={[{ label: "Clear the filters", to: "/findings" }]} testid="findings-empty">
          Widen the filters, or clear them to see every finding.
        </EmptyState>
      ) : (
        <EmptyState title="No findings yet" steps={firstSteps(can)} testid="findings-empty">
          Import a scanner report, add a cloud account to scan, or start a network, web or container scan; its findings are listed here.
        </EmptyState>
      ))}
      <Table.ScrollContainer minWidth={760}>
      <Table striped highlightOnHover data-testid="findings-table">
        <Table.Thead>
          <Table.Tr>
            <Table.Th>Severity</Table.Th>
            <Table.Th>Title</Table.Th>
            <Table.Th>Resource</Table.Th>
            <Table.Th>Tool</Table.Th>
            <Table.Th>Status</Table.Th>
            <Table.Th>Last seen</Table.Th>
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {rows.map((f) => (
            <Table.Tr key={f.id} style={{ cursor: "pointer" }} onClick={() => api.finding(f.id).then(setSelected, setError)}>
              <Table.Td><SeverityBadge severity={f.severity} /></Table.Td>
              <Table.Td><Text size="sm" lineClamp={2}>{f.title}</Text></Table.Td>
              <Table.Td><Text size="xs" lineClamp={1}>{f.resource_name || f.resource_uid || f.target}{f.location ? ` · ${f.location}` : ""}</Text></Table.Td>
              <Table.Td><Text size="sm">{f.tool}</Text></Table.Td>
              <Table.Td><StatusBadge status={f.status} finding={f as MuteFields} /></Table.Td>
              <Table.Td><Text size="xs">{new Date(f.last_seen).toLocaleString()}</Text></Table.Td>
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
      </Table.ScrollContainer>
      {list?.next_cursor && (
        <Button variant="light" onClick={() => api.findings(query(list.next_cursor)).then((res) => { setList(res); setRows((r) => [...r, ...res.findings]); }, setError)}>
          Load more
        </Button>
      )}
      <Drawer opened={!!selected} onClose={() => setSelected(null)} position="right" size="xl" title={selected?.title}
        styles={{ title: wrap, content: { overflowX: "hidden" } }}>
        {selected && <FindingDetailView f={selected} onChange={() => api.finding(selected.id).then(setSelected, setError)} />}
      </Drawer>
    </Stack>
  );
}

function TriageBar({ f, onChange }: { f: FindingDetail; onChange: () => void }) {
  const { can } = useAuth();
  const [reason, setReason] = useState("");
  const [until, setUntil] = useState("");
  const [error, setError] = useState<unknown>(null);
  if (!can("findings:triage")) return null;
  const act = (fn: () => Promise<void>) => fn().then(() => { setReason(""); setUntil(""); setError(null); onChange(); }, setError);
  const mute = (kind: "mute" | "risk_accepted") => act(() => api.muteFinding(f.id, kind, reason, untilFromDate(until)));
  const m = muteInfo(f as MuteFields);
  return (
    <Stack gap="xs" data-testid="triage">
      <ErrorAlert error={error} />
      {f.status === "muted" ? (
        <Group justify="flex-end">
          <Button size="xs" variant="light" onClick={() => act(() => api.unmuteFinding(f.id))} data-testid="unmute">
            {m?.kind === "risk_accepted" ? "Revoke risk acceptance" : "Unmute"}
          </Button>
        </Group>
      ) : (
        <Group align="end" gap="xs">
          <TextInput size="xs" label="Reason" placeholder="why this is acceptable" value={reason} onChange={(e) => setReason(e.currentTarget.value)}
            style={{ flex: "1 1 220px" }} data-testid="mute-reason" />
          <TextInput size="xs" type="date" label="Until (optional)" min={todayISO()} value={until} onChange={(e) => setUntil(e.currentTarget.value)}
            w={150} data-testid="mute-until" />
          <Group gap="xs" wrap="nowrap">
            <Button size="xs" variant="light" disabled={!reason} onClick={() => mute("mute")} data-testid="mute">Mute</Button>
            <Button size="xs" variant="light" color="violet" disabled={!reason} onClick={() => mute("risk_accepted")} data-testid="accept-risk">Accept risk</Button>
          </Group>
        </Group>
      )}
    </Stack>
  );
}

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

function FindingDetailView({ f, onChange }: { f: FindingDetail; onChange: () => void }) {
  const [raw, setRaw] = useState(false);
  return (
    <Stack data-testid="finding-detail" style={{ minWidth: 0 }}>
      <Group gap="xs">
        <SeverityBadge severity={f.severity} />
        <StatusBadge status={f.status} finding={f as MuteFields} />
        <Badge variant="outline">{f.tool}</Badge>
        <Code style={wrap}>{f.check_id}</Code>
      </Group>
      <MuteSummary f={f as MuteFields} />
      <TriageBar f={f} onChange={onChange} />
      <Text size="sm" style={wrap}>{f.description}</Text>
      <Table layout="fixed">
        <Table.Tbody>
          {[
            ["Resource", f.resource_uid || f.target],
            ["Tags", f.resource_tags.join(", ")],
            ["Location", f.location],
            ["Account / region", [f.account_uid, f.region].filter(Boolean).join(" / ")],
            ["Component", [f.component, f.version].filter(Boolean).join(" ")],
            ["Fixed in", f.fixed_version],
            ["Vulnerabilities", f.vuln_ids.join(", ")],
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
      <Title order={5}>History</Title>
      <Timeline bulletSize={14} lineWidth={2}>
        {f.history.map((h, i) => (
          <Timeline.Item key={i} title={h.change}>
            <Text size="xs" c="dimmed">{new Date(h.at).toLocaleString()} · {h.from_status ? `${h.from_status} → ` : ""}{h.to_status}</Text>
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
