import { useCallback, useEffect, useState } from "react";
import { Badge, Button, Code, Drawer, Group, MultiSelect, ScrollArea, Stack, Table, Text, TextInput, Timeline, Title } from "@mantine/core";
import { useSearchParams } from "react-router-dom";
import { api, type Finding, type FindingDetail, type FindingList } from "../api/client";
import { ErrorAlert } from "../components/ErrorAlert";
import { useAuth } from "../auth";
import { SeverityBadge, StatusBadge } from "../components/SeverityBadge";

const SEVERITIES = ["critical", "high", "medium", "low", "informational"];
const STATUSES = ["open", "reopened", "resolved", "muted"];

export function FindingsPage() {
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
      for (const k of ["severity", "status", "tool", "service", "account", "region", "scan", "q"]) {
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
              <Table.Td><StatusBadge status={f.status} /></Table.Td>
              <Table.Td><Text size="xs">{new Date(f.last_seen).toLocaleString()}</Text></Table.Td>
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
      {list?.next_cursor && (
        <Button variant="light" onClick={() => api.findings(query(list.next_cursor)).then((res) => { setList(res); setRows((r) => [...r, ...res.findings]); }, setError)}>
          Load more
        </Button>
      )}
      <Drawer opened={!!selected} onClose={() => setSelected(null)} position="right" size="xl" title={selected?.title} scrollAreaComponent={ScrollArea.Autosize}>
        {selected && <FindingDetailView f={selected} onChange={() => api.finding(selected.id).then(setSelected, setError)} />}
      </Drawer>
    </Stack>
  );
}

function TriageBar({ f, onChange }: { f: FindingDetail; onChange: () => void }) {
  const { can } = useAuth();
  const [reason, setReason] = useState("");
  const [error, setError] = useState<unknown>(null);
  if (!can("findings:triage")) return null;
  const act = (fn: () => Promise<void>) => fn().then(() => { setReason(""); setError(null); onChange(); }, setError);
  return (
    <Stack gap="xs">
      <ErrorAlert error={error} />
      {f.status === "muted" ? (
        <Button size="xs" variant="light" onClick={() => act(() => api.unmuteFinding(f.id))}>Unmute</Button>
      ) : (
        <Group align="end">
          <TextInput size="xs" label="Reason" value={reason} onChange={(e) => setReason(e.currentTarget.value)} w={260} />
          <Button size="xs" variant="light" disabled={!reason} onClick={() => act(() => api.muteFinding(f.id, "mute", reason))}>Mute</Button>
          <Button size="xs" variant="light" color="orange" disabled={!reason} onClick={() => act(() => api.muteFinding(f.id, "risk_accepted", reason))}>Accept risk</Button>
        </Group>
      )}
    </Stack>
  );
}

function FindingDetailView({ f, onChange }: { f: FindingDetail; onChange: () => void }) {
  return (
    <Stack data-testid="finding-detail">
      <TriageBar f={f} onChange={onChange} />
      <Group>
        <SeverityBadge severity={f.severity} />
        <StatusBadge status={f.status} />
        <Badge variant="outline">{f.tool}</Badge>
        <Code>{f.check_id}</Code>
      </Group>
      <Text size="sm">{f.description}</Text>
      <Table>
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
                <Table.Td><Text size="sm" c="dimmed">{k}</Text></Table.Td>
                <Table.Td><Text size="sm">{v}</Text></Table.Td>
              </Table.Tr>
            ))}
        </Table.Tbody>
      </Table>
      {f.remediation && (
        <>
          <Title order={5}>Remediation</Title>
          <Text size="sm" data-testid="finding-remediation">{f.remediation}</Text>
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
      <Title order={5}>OCSF</Title>
      <Code block>{JSON.stringify(f.raw_ocsf, null, 2)}</Code>
    </Stack>
  );
}
