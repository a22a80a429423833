import { useCallback, useEffect, useState } from "react";
import {
  Alert, Anchor, Badge, Button, Code, Collapse, Drawer, FileButton, Group, MultiSelect, NumberInput, Pagination, SegmentedControl, Select, Stack, Switch,
  Table, Text, TextInput, Title, Tooltip,
} from "@mantine/core";
import { useSearchParams } from "react-router-dom";
import { api, type KEVSyncResult, type Occurrence, type VulnerabilityDetail, type VulnerabilityList, type VulnerabilitySummary } from "../api/client";
import { ErrorAlert } from "../components/ErrorAlert";
import { SLAEditor } from "./SLAEditor";
import { EmptyState, firstSteps } from "../components/EmptyState";
import { SeverityBadge } from "../components/SeverityBadge";
import { BUSINESS_TIERS, BusinessTierBadge } from "../components/BusinessTierBadge";
import { useAuth } from "../auth";
import { SEVERITIES } from "../severity";
import { kevErrorSummary } from "../kev";
import { TicketsBox } from "../components/TicketsBox";

const wrap = { overflowWrap: "anywhere" as const };
const FILTERS = ["severity", "priority", "in_kev", "ransomware", "epss_min", "overdue", "fix_available", "status", "q", "business_tier"];
const PRIORITIES = ["P1", "P2", "P3", "P4"];
const PAGE = 50;
const priorityColor: Record<string, string> = { P1: "red.9", P2: "red", P3: "orange", P4: "gray" };

export function PriorityBadge({ priority }: { priority: string }) {
  return <Badge color={priorityColor[priority] ?? "gray"} size="sm" variant="filled">{priority}</Badge>;
}

// KEVBadges shows a vulnerability's standing in CISA KEV: listed (with
// ransomware use), checked and not listed, or never checked.
export function KEVBadges({ kev }: { kev: VulnerabilitySummary["kev"] }) {
  if (kev.state === "in_kev") {
    return (
      <Group gap={4} wrap="nowrap">
        <Tooltip label={`Added ${kev.date_added}; due ${kev.due_date}`}>
          <Badge color="red" variant="filled" size="sm" data-testid="kev-badge">KEV</Badge>
        </Tooltip>
        {kev.known_ransomware_use && <Badge color="grape" variant="filled" size="sm" data-testid="ransomware-badge">ransomware</Badge>}
      </Group>
    );
  }
  if (kev.state === "never_enriched") return <Text size="xs" c="dimmed">not checked</Text>;
  return null;
}

const pct = (v?: number | null) => (v == null ? "–" : `${(v * 100).toFixed(v < 0.01 ? 2 : 1)}%`);
const day = (v?: string | null) => (v ? new Date(v).toLocaleDateString() : "–");

function SLAState({ due, overdue }: { due?: string | null; overdue: number | boolean }) {
  if (overdue) return <Badge color="red" variant="light" size="sm" data-testid="sla-overdue">overdue</Badge>;
  if (!due) return <Text size="xs" c="dimmed">no SLA</Text>;
  return <Text size="xs">due {day(due)}</Text>;
}

export function VulnerabilitiesPage() {
  const { can } = useAuth();
  const [params, setParams] = useSearchParams();
  const [list, setList] = useState<VulnerabilityList | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [selected, setSelected] = useState<VulnerabilityDetail | null>(null);
  const [text, setText] = useState(params.get("q") ?? "");
  const [reload, setReload] = useState(0);
  const groupBy = params.get("group_by") ?? "vulnerability";
  const page = Number(params.get("page") ?? "1");

  const get = (k: string) => (params.get(k) ? params.get(k)!.split(",") : []);
  const query = useCallback(() => {
    const q: Record<string, string> = { limit: String(PAGE), offset: String((page - 1) * PAGE) };
    for (const k of ["group_by", "severity", "priority", "in_kev", "ransomware", "epss_min", "overdue", "fix_available", "status", "q", "business_tier", "sort"]) {
      const v = params.get(k);
      if (v) q[k] = v;
    }
    return q;
  }, [params, page]);

  useEffect(() => {
    api.vulnerabilities(query()).then((res) => { setList(res); setError(null); }, setError);
  }, [query, reload]);

  const set = (k: string, v: string | string[] | null) => {
    const next = new URLSearchParams(params);
    const s = Array.isArray(v) ? v.join(",") : v;
    if (s) next.set(k, s);
    else next.delete(k);
    if (k !== "page") next.delete("page");
    setParams(next);
  };
  const open = (id: string) => api.vulnerability(id).then(setSelected, setError);

  return (
    <Stack>
      <Group justify="space-between" align="start">
        <Title order={2}>Vulnerabilities</Title>
        <KEVStatusBar onSynced={() => setReload((n) => n + 1)} />
      </Group>
      <ErrorAlert error={error} />
      <Group align="end">
        <SegmentedControl value={groupBy} onChange={(v) => set("group_by", v === "vulnerability" ? null : v)}
          data={[{ value: "vulnerability", label: "By vulnerability" }, { value: "asset", label: "By asset" }]} />
        <MultiSelect label="Severity" data={SEVERITIES} value={get("severity")} onChange={(v) => set("severity", v)} w={220} clearable />
        <MultiSelect label="Priority" data={PRIORITIES} value={get("priority")} onChange={(v) => set("priority", v)} w={160} clearable />
        <MultiSelect label="Business tier" data={BUSINESS_TIERS} value={get("business_tier")} onChange={(v) => set("business_tier", v)} w={170} clearable
          data-testid="vuln-filter-business-tier" />
        <Select label="Order" data={[{ value: "risk", label: "Riskiest first" }, { value: "business_tier", label: "Business impact first" }]}
          value={params.get("sort") ?? "risk"} onChange={(v) => set("sort", v === "risk" ? null : v)} w={190} allowDeselect={false} data-testid="vuln-sort" />
        <Select label="Status" data={["open", "accepted", "fixed", "not_affected", "will_not_fix"]} value={params.get("status") ?? "open"} w={120}
          onChange={(v) => set("status", v === "open" ? null : v)} />
        <NumberInput label="EPSS at least" min={0} max={1} step={0.05} decimalScale={2} w={120} value={params.get("epss_min") ?? ""}
          onChange={(v) => set("epss_min", v === "" || v === 0 ? null : String(v))} />
        <form onSubmit={(e) => { e.preventDefault(); set("q", text || null); }}>
          <TextInput label="Search" placeholder="CVE, title, asset, package" value={text} onChange={(e) => setText(e.currentTarget.value)} />
        </form>
      </Group>
      <Group>
        <Switch label="In CISA KEV" checked={params.get("in_kev") === "true"} onChange={(e) => set("in_kev", e.currentTarget.checked ? "true" : null)}
          data-testid="filter-kev" />
        <Switch label="Ransomware use" checked={params.get("ransomware") === "true"}
          onChange={(e) => set("ransomware", e.currentTarget.checked ? "true" : null)} />
        <Switch label="Overdue" checked={params.get("overdue") === "true"} onChange={(e) => set("overdue", e.currentTarget.checked ? "true" : null)}
          data-testid="filter-overdue" />
        <Switch label="Fix available" checked={params.get("fix_available") === "true"}
          onChange={(e) => set("fix_available", e.currentTarget.checked ? "true" : null)} />
      </Group>
      <Text size="sm" c="dimmed" data-testid="vulns-total">
        {list ? `${list.total} ${groupBy === "asset" ? "assets" : "vulnerabilities"}` : ""}
        {list ? ` · SLA: critical ${list.sla.critical_days} d, high ${list.sla.high_days} d, medium ${list.sla.medium_days} d, low ${list.sla.low_days} d` : ""}
        {list && can("vulnerabilities:manage") && <SLAEditor sla={list.sla} onSaved={() => setReload((n) => n + 1)} />}
      </Text>
      {list && list.total === 0 && (FILTERS.some((k) => params.get(k)) ? (
        <EmptyState title="Nothing matches these filters" steps={[{ label: "Clear the filters", to: "/vulnerabilities" }]} testid="vulns-empty">
          Widen the filters, or clear them to see every open vulnerability.
        </EmptyState>
      ) : (
        <EmptyState title="No vulnerabilities yet" steps={firstSteps(can).filter((s) => s.to !== "/cloud-accounts")} testid="vulns-empty">
          Vulnerabilities come from container and dependency scanners: import a Trivy or Grype report, or start a container scan.
        </EmptyState>
      ))}
      {groupBy === "asset" ? (
        <Table.ScrollContainer minWidth={820}>
        <Table striped highlightOnHover data-testid="assets-table">
          <Table.Thead>
            <Table.Tr>
              <Table.Th>Priority</Table.Th><Table.Th>Asset</Table.Th><Table.Th>Exposure</Table.Th><Table.Th>Vulnerabilities</Table.Th>
              <Table.Th>In KEV</Table.Th><Table.Th>Highest severity</Table.Th><Table.Th>Risk</Table.Th><Table.Th>Overdue</Table.Th><Table.Th>Business tier</Table.Th>
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {list?.assets?.map((a) => (
              <Table.Tr key={a.asset} style={{ cursor: "pointer" }} onClick={() => { setText(a.asset); set("q", a.asset); set("group_by", null); }}>
                <Table.Td><PriorityBadge priority={a.priority} /></Table.Td>
                <Table.Td><Text size="sm" lineClamp={1}>{a.asset}</Text></Table.Td>
                <Table.Td><Text size="xs">{a.exposure}</Text></Table.Td>
                <Table.Td>{a.vulnerabilities}</Table.Td>
                <Table.Td>{a.in_kev > 0 ? <Badge color="red" size="sm">{a.in_kev}</Badge> : "–"}</Table.Td>
                <Table.Td><SeverityBadge severity={a.severity} /></Table.Td>
                <Table.Td>{a.risk_score.toFixed(1)}</Table.Td>
                <Table.Td>{a.overdue || "–"}</Table.Td>
                <Table.Td><BusinessTierBadge tier={a.business_tier} /></Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
        </Table.ScrollContainer>
      ) : (
        <Table.ScrollContainer minWidth={860}>
        <Table striped highlightOnHover data-testid="vulns-table">
          <Table.Thead>
            <Table.Tr>
              <Table.Th>Priority</Table.Th><Table.Th>Vulnerability</Table.Th><Table.Th>KEV</Table.Th><Table.Th>Severity</Table.Th>
              <Table.Th>CVSS</Table.Th><Table.Th>EPSS</Table.Th><Table.Th>Assets</Table.Th><Table.Th>Risk</Table.Th><Table.Th>SLA</Table.Th><Table.Th>Business tier</Table.Th>
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {list?.vulnerabilities?.map((v) => (
              <Table.Tr key={v.id} style={{ cursor: "pointer" }} onClick={() => open(v.id)} data-testid={`vuln-row-${v.id}`}>
                <Table.Td><PriorityBadge priority={v.priority} /></Table.Td>
                <Table.Td>
                  <Text size="sm" fw={500}>{v.id}</Text>
                  <Text size="xs" c="dimmed" lineClamp={1}>{v.title}</Text>
                </Table.Td>
                <Table.Td><KEVBadges kev={v.kev} /></Table.Td>
                <Table.Td><SeverityBadge severity={v.severity} /></Table.Td>
                <Table.Td>{v.cvss_score?.toFixed(1) ?? "–"}</Table.Td>
                <Table.Td><Tooltip label={`percentile ${pct(v.epss_percentile)}`}><Text size="sm">{pct(v.epss_score)}</Text></Tooltip></Table.Td>
                <Table.Td>{v.assets}</Table.Td>
                <Table.Td>{v.risk_score.toFixed(1)}</Table.Td>
                <Table.Td><SLAState due={v.sla_due} overdue={v.overdue} /></Table.Td>
                <Table.Td><BusinessTierBadge tier={v.business_tier} /></Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
        </Table.ScrollContainer>
      )}
      {list && list.total > PAGE && (
        <Pagination total={Math.ceil(list.total / PAGE)} value={page} onChange={(p) => set("page", String(p))} />
      )}
      <Drawer opened={!!selected} onClose={() => setSelected(null)} position="right" size="xl" title={selected?.id}
        styles={{ title: wrap, content: { overflowX: "hidden" } }}>
        {selected && <VulnerabilityDetailView v={selected} onChange={() => { open(selected.id); setReload((n) => n + 1); }} />}
      </Drawer>
    </Stack>
  );
}

// KEVStatusBar shows the stored catalog and, for ADMINs, a sync button and
// an upload of a catalog file for installs that cannot reach CISA.
function KEVStatusBar({ onSynced }: { onSynced: () => void }) {
  const { can } = useAuth();
  const [status, setStatus] = useState<Awaited<ReturnType<typeof api.kevStatus>> | null>(null);
  const [result, setResult] = useState<KEVSyncResult | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const load = useCallback(() => api.kevStatus().then(setStatus, setError), []);
  useEffect(() => { load(); }, [load]);
  const finish = (p: Promise<KEVSyncResult>) => {
    setBusy(true);
    p.then(
      (r) => { setResult(r); setError(null); load(); onSynced(); },
      (e) => { setError(e); load(); },
    ).finally(() => setBusy(false));
  };
  const sync = () => finish(api.kevSync());
  const upload = (file: File | null) => file && finish(api.kevUpload(file));
  // One failure, said once: the sync's own error when there is one, else
  // the stored last error; plain words first, the raw error on request.
  const raw = error ? (error instanceof Error ? error.message : String(error)) : status?.last_error ?? "";
  return (
    <Stack gap={4} align="flex-end" maw="100%" data-testid="kev-status">
      <Group gap="xs" justify="flex-end">
        <Text size="sm" ta="right">
          CISA KEV: {status?.catalog_version ? `${status.catalog_version}, ${status.count} entries, synced ${day(status.last_sync)}` : "never synced"}
          {status?.epss.count ? ` · EPSS ${status.epss.score_date.slice(0, 10)}` : ""}
        </Text>
        {can("kev:sync") && <Button size="xs" variant="light" loading={busy} onClick={sync} data-testid="kev-sync">Sync now</Button>}
        {can("kev:sync") && (
          <FileButton onChange={upload} accept="application/json,.json">
            {(props) => (
              <Button {...props} size="xs" variant="subtle" loading={busy} data-testid="kev-upload"
                title="For an install that cannot reach CISA: CISA's known_exploited_vulnerabilities.json">Upload catalog</Button>
            )}
          </FileButton>
        )}
      </Group>
      {raw && <KEVError raw={raw} />}
      {result && (
        <Text size="xs" c="dimmed" data-testid="kev-sync-result">
          {result.catalog_version}: {result.added.length} added, {result.removed.length} removed, {result.updated.length} updated
        </Text>
      )}
    </Stack>
  );
}

// KEVError says why the last sync failed in plain words, with the server's
// raw error behind a toggle for whoever fixes it.
export function KEVError({ raw }: { raw: string }) {
  const [open, setOpen] = useState(false);
  return (
    <Alert color="orange" variant="light" p="xs" maw={560} data-testid="kev-error">
      <Text size="sm" style={wrap}>{kevErrorSummary(raw)}</Text>
      <Anchor component="button" type="button" size="xs" onClick={() => setOpen((v) => !v)} data-testid="kev-error-toggle">
        {open ? "Hide technical details" : "Technical details"}
      </Anchor>
      <Collapse expanded={open}>
        <Code block mt={4} style={{ whiteSpace: "pre-wrap", ...wrap }} data-testid="kev-error-detail">{raw}</Code>
      </Collapse>
    </Alert>
  );
}

function VulnerabilityDetailView({ v, onChange }: { v: VulnerabilityDetail; onChange: () => void }) {
  return (
    <Stack data-testid="vuln-detail" style={{ minWidth: 0 }}>
      <Group>
        <SeverityBadge severity={v.severity} />
        <KEVBadges kev={v.kev} />
        {v.cvss_score != null && <Badge variant="outline">CVSS {v.cvss_version} {v.cvss_score.toFixed(1)}</Badge>}
        {v.epss_score != null && <Badge variant="outline">EPSS {pct(v.epss_score)} (p{pct(v.epss_percentile)})</Badge>}
      </Group>
      <Text fw={500} style={wrap}>{v.title}</Text>
      {(v.aliases ?? []).length > 0 && (
        <Text size="xs" c="dimmed" style={wrap} data-testid="vuln-aliases">Also known as {(v.aliases ?? []).join(", ")}</Text>
      )}
      <Text size="sm" style={wrap}>{v.description}</Text>
      <TicketsBox kind="vulnerability" id={v.id} list={v.tickets ?? []} onChange={onChange} />
      {v.kev.state === "in_kev" && (
        <Alert color="red" title={`Known exploited: ${v.kev.name}`} data-testid="kev-detail">
          <Text size="sm">{v.kev.vendor} {v.kev.product}. Added {v.kev.date_added}, due {v.kev.due_date}.</Text>
          <Text size="sm">{v.kev.required_action}</Text>
        </Alert>
      )}
      {v.kev.state === "never_enriched" && <Text size="xs" c="dimmed">Not yet checked against CISA KEV.</Text>}
      {v.cvss_vector && <Code style={wrap}>{v.cvss_vector}</Code>}
      {v.cwes.length > 0 && <Text size="sm">Weaknesses: {v.cwes.join(", ")}</Text>}
      <Title order={5}>Occurrences</Title>
      <Table.ScrollContainer minWidth={640}>
      <Table>
        <Table.Thead>
          <Table.Tr><Table.Th>Asset</Table.Th><Table.Th>Component</Table.Th><Table.Th>Fix</Table.Th><Table.Th>Status</Table.Th><Table.Th>SLA</Table.Th><Table.Th /></Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {v.occurrences.map((o) => <OccurrenceRow key={o.id} o={o} onChange={onChange} />)}
        </Table.Tbody>
      </Table>
      </Table.ScrollContainer>
      {v.references.length > 0 && (
        <>
          <Title order={5}>References</Title>
          <Stack gap={2}>
            {v.references.slice(0, 20).map((r) => <Anchor key={r} href={r} target="_blank" rel="noreferrer noopener" size="xs" style={wrap}>{r}</Anchor>)}
          </Stack>
        </>
      )}
    </Stack>
  );
}

function OccurrenceRow({ o, onChange }: { o: Occurrence; onChange: () => void }) {
  const { can } = useAuth();
  const [reason, setReason] = useState("");
  const [error, setError] = useState<unknown>(null);
  const act = (p: Promise<unknown>) => p.then(() => { setError(null); setReason(""); onChange(); }, setError);
  return (
    <Table.Tr>
      <Table.Td><Text size="xs">{o.asset} <BusinessTierBadge tier={o.business_tier} /></Text><Text size="xs" c="dimmed">{o.source_tool} · {o.exposure}</Text></Table.Td>
      <Table.Td><Text size="xs">{[o.component, o.version].filter(Boolean).join(" ") || o.location}</Text></Table.Td>
      <Table.Td><Text size="xs">{o.fixed_version || "–"}</Text></Table.Td>
      <Table.Td>
        <Badge size="sm" variant="light" color={o.status === "open" ? "red" : o.status === "fixed" ? "green" : "gray"}>{o.status}</Badge>
        {o.accepted_reason && <Text size="xs" c="dimmed">{o.accepted_reason} ({o.accepted_by})</Text>}
      </Table.Td>
      <Table.Td><SLAState due={o.sla_due} overdue={o.overdue} /></Table.Td>
      <Table.Td>
        {can("vulnerabilities:manage") && o.status === "open" && (
          <Group gap={4} wrap="nowrap">
            <TextInput size="xs" placeholder="reason" value={reason} onChange={(e) => setReason(e.currentTarget.value)} w={140} />
            <Button size="xs" variant="light" color="orange" disabled={!reason} onClick={() => act(api.setOccurrenceStatus(o.id, "accepted", reason))}>
              Accept risk
            </Button>
          </Group>
        )}
        {can("vulnerabilities:manage") && o.status === "accepted" && (
          <Button size="xs" variant="subtle" onClick={() => act(api.setOccurrenceStatus(o.id, "open"))}>Reopen</Button>
        )}
        <ErrorAlert error={error} />
      </Table.Td>
    </Table.Tr>
  );
}
