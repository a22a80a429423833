import { useCallback, useEffect, useMemo, useState } from "react";
import { Button, Checkbox, Drawer, Group, MultiSelect, Pill, Stack, Switch, Table, Text, TextInput, Title, UnstyledButton } from "@mantine/core";
import { useSearchParams } from "react-router-dom";
import { api, type Finding, type FindingDetail, type FindingList } from "../api/client";
import { triageApi, type AssignableUser } from "../api/triage";
import { ErrorAlert } from "../components/ErrorAlert";
import { EmptyState, firstSteps } from "../components/EmptyState";
import { useAuth } from "../auth";
import { SeverityBadge } from "../components/SeverityBadge";
import { BUSINESS_TIERS, BusinessTierBadge } from "../components/BusinessTierBadge";
import { SEVERITIES } from "../severity";
import { BulkBar } from "./findings/BulkBar";
import { FindingDetailView, wrap } from "./findings/FindingDetail";
import { FindingStatusBadge } from "./findings/FindingStatusBadge";
import { TriageSettingsSwitch } from "./findings/TriageSettingsSwitch";
import {
  bulkFilter, chips, clearedFilters, defaultView, effectiveFilters, exportHref, isDefaultView, listQuery, sortOf, withFilter, withSort,
  type FilterKey, type SortKey,
} from "./findings/filters";
import { EMPTY, isSelected, pageState, selectAllMatching, toggle, togglePage, type Selection } from "./findings/selection";

export { MuteSummary } from "./findings/FindingDetail";

const STATUSES = ["open", "reopened", "resolved", "muted", "false_positive", "out_of_scope"];
const RESULTS = [{ value: "fail", label: "fail" }, { value: "pass", label: "pass" }, { value: "manual", label: "manual (needs a person)" }];
const PROVIDERS = ["aws", "gcp", "azure", "kubernetes", "m365", "github"];
const TRIAGE = [
  { value: "none", label: "not triaged" }, { value: "false_positive", label: "false positive" }, { value: "out_of_scope", label: "out of scope" },
  { value: "risk_accepted", label: "risk accepted" }, { value: "risk_pending", label: "risk acceptance pending" }, { value: "muted", label: "muted" },
];

// The API sorts at most this many matches by anything but severity (no
// index gives those orders: findings.MaxUnindexedSort).
const MAX_UNINDEXED_SORT = 100000;

function SortHeader({ label, sort, params, total, onSort }: { label: string; sort: SortKey; params: URLSearchParams; total: number; onSort: (s: SortKey) => void }) {
  const cur = sortOf(params);
  const active = cur.sort === sort;
  const tooMany = sort !== "severity" && total > MAX_UNINDEXED_SORT;
  return (
    <Table.Th aria-sort={active ? (cur.desc ? "descending" : "ascending") : "none"}>
      <UnstyledButton onClick={() => onSort(sort)} data-testid={`sort-${sort}`} fw={600} fz="sm" disabled={tooMany && !active}
        title={tooMany ? `Narrow the filter to at most ${MAX_UNINDEXED_SORT} findings to sort by ${label.toLowerCase()}` : `Sort by ${label.toLowerCase()}`}>
        {label} {active ? (cur.desc ? "▼" : "▲") : ""}
      </UnstyledButton>
    </Table.Th>
  );
}

export function FindingsPage() {
  const { can, me } = useAuth();
  const [params, setParams] = useSearchParams();
  const [list, setList] = useState<FindingList | null>(null);
  const [rows, setRows] = useState<Finding[]>([]);
  const [error, setError] = useState<unknown>(null);
  const [selected, setSelected] = useState<FindingDetail | null>(null);
  const [text, setText] = useState(params.get("q") ?? "");
  const [selection, setSelection] = useState<Selection>(EMPTY);
  const [users, setUsers] = useState<AssignableUser[]>([]);
  const [reload, setReload] = useState(0);
  const triage = can("findings:triage");

  const filters = effectiveFilters(params);
  const get = (k: FilterKey) => (filters[k] ? filters[k]!.split(",") : []);
  const query = useCallback((cursor?: string) => listQuery(params, cursor), [params]);

  useEffect(() => {
    api.findings(query()).then(
      (res) => {
        setList(res);
        setRows(res.findings);
        setError(null);
      },
      setError,
    );
  }, [query, reload]);
  // A new filter is a new set of rows: what was selected is not in it.
  useEffect(() => setSelection(EMPTY), [params]);
  useEffect(() => {
    triageApi.assignees().then((r) => setUsers(r.users), () => setUsers([]));
  }, []);

  const set = (k: FilterKey, v: string[]) => setParams(withFilter(params, k, v));
  const facet = (name: keyof NonNullable<FindingList["facets"]>) =>
    Object.entries(list?.facets?.[name] ?? {}).map(([k, n]) => ({ value: k, label: `${k || "(none)"} (${n})` }));
  const withCurrent = (options: string[], k: FilterKey) => [...new Set([...options, ...get(k)])];
  const assigneeOptions = useMemo(() => [{ value: "none", label: "unassigned" }, ...(me ? [{ value: me.user.id, label: "me" }] : []),
    ...users.filter((u) => u.id !== me?.user.id).map((u) => ({ value: u.id, label: u.email }))], [users, me]);
  const pageIDs = rows.map((f) => f.id);
  const openDetail = (id: number) => api.finding(id).then(setSelected, setError);
  const chipValue = (k: FilterKey, v: string) =>
    k === "assignee" ? v.split(", ").map((id) => assigneeOptions.find((o) => o.value === id)?.label ?? id).join(", ") : v;

  return (
    <Stack>
      <Group justify="space-between">
        <Title order={2}>Findings</Title>
        <Group gap="xs">
          <TriageSettingsSwitch />
          <Button component="a" href={exportHref(params, "csv")} size="xs" variant="light" data-testid="export-csv">Export CSV</Button>
          <Button component="a" href={exportHref(params, "json")} size="xs" variant="light" data-testid="export-json">Export JSON</Button>
        </Group>
      </Group>
      <ErrorAlert error={error} />
      <Group align="end" gap="xs">
        <MultiSelect label="Severity" data={SEVERITIES} value={get("severity")} onChange={(v) => set("severity", v)} w={230} clearable data-testid="filter-severity" />
        <MultiSelect label="Status" data={STATUSES} value={get("status")} onChange={(v) => set("status", v)} w={230} clearable data-testid="filter-status" />
        <MultiSelect label="Result" data={RESULTS} value={get("result")} onChange={(v) => set("result", v)} w={180} clearable data-testid="filter-result" />
        <MultiSelect label="Provider" data={withCurrent(PROVIDERS, "provider")} value={get("provider")} onChange={(v) => set("provider", v)} w={160} clearable searchable />
        <MultiSelect label="Account" data={facet("account")} value={get("account")} onChange={(v) => set("account", v)} w={190} clearable searchable />
        <MultiSelect label="Region" data={facet("region")} value={get("region")} onChange={(v) => set("region", v)} w={170} clearable searchable />
        <MultiSelect label="Tool" data={facet("tool")} value={get("tool")} onChange={(v) => set("tool", v)} w={160} clearable searchable />
        <MultiSelect label="Service" data={facet("service")} value={get("service")} onChange={(v) => set("service", v)} w={160} clearable searchable />
        <MultiSelect label="Triage" data={TRIAGE} value={get("triage")} onChange={(v) => set("triage", v)} w={200} clearable data-testid="filter-triage" />
        <MultiSelect label="Business tier" data={BUSINESS_TIERS} value={get("business_tier")} onChange={(v) => set("business_tier", v)} w={170} clearable data-testid="filter-business-tier" />
        <MultiSelect label="Assignee" data={assigneeOptions} value={get("assignee")} onChange={(v) => set("assignee", v)} w={200} clearable searchable />
        <form onSubmit={(e) => { e.preventDefault(); set("q", text ? [text] : []); }}>
          <TextInput label="Search" placeholder="title, check, resource" value={text} onChange={(e) => setText(e.currentTarget.value)} name="q" />
        </form>
        <Switch label="New since the previous scan" checked={filters.new_since_previous_scan === "true"} mb={8}
          onChange={(e) => set("new_since_previous_scan", e.currentTarget.checked ? ["true"] : [])} data-testid="filter-new" />
      </Group>
      <Group gap="xs" data-testid="filter-chips">
        {isDefaultView(params) && <Text size="sm" c="dimmed">Default view: open failures ·</Text>}
        {chips(params).map((c) => (
          <Pill key={c.key} withRemoveButton onRemove={() => set(c.key, [])} data-testid={`chip-${c.key}`} style={wrap}>
            {c.label}: {chipValue(c.key, c.value)}
          </Pill>
        ))}
        {chips(params).length > 0 && <Button size="compact-xs" variant="subtle" onClick={() => setParams(clearedFilters(params))} data-testid="clear-filters">Clear all</Button>}
        {!isDefaultView(params) && <Button size="compact-xs" variant="subtle" onClick={() => setParams(defaultView(params))}>Open failures</Button>}
      </Group>
      <Text size="sm" c="dimmed" data-testid="findings-total">{list ? `${list.total} findings` : ""}</Text>
      {triage && (
        <BulkBar selection={selection} total={list?.total ?? 0} filter={bulkFilter(params)} query={effectiveFilters(params) as Record<string, string>} users={users}
          onDone={() => { setSelection(EMPTY); setReload((n) => n + 1); if (selected) openDetail(selected.id); }}
          onSelectAll={() => setSelection(selectAllMatching())} onClear={() => setSelection(EMPTY)} />
      )}
      {list && list.total === 0 && (!isDefaultView(params) && Object.keys(filters).length > 0 ? (
        <EmptyState title="No findings match these filters" steps={[{ label: "Clear the filters", to: "/findings?all=1" }]} testid="findings-empty">
          Widen the filters, or clear them to see every finding.
        </EmptyState>
      ) : (
        <EmptyState title={isDefaultView(params) ? "No open failures" : "No findings yet"} steps={firstSteps(can)} testid="findings-empty">
          Import a scanner report, add a cloud account to scan, or start a network, web or container scan; its findings are listed here.
        </EmptyState>
      ))}
      <Table.ScrollContainer minWidth={820}>
      <Table striped highlightOnHover data-testid="findings-table">
        <Table.Thead>
          <Table.Tr>
            {triage && (
              <Table.Th w={36}>
                <Checkbox aria-label="Select the page" data-testid="select-page" checked={pageState(selection, pageIDs) === "all"}
                  indeterminate={pageState(selection, pageIDs) === "some"} onChange={() => setSelection((s) => togglePage(s, pageIDs))} />
              </Table.Th>
            )}
            <SortHeader label="Severity" sort="severity" params={params} total={list?.total ?? 0} onSort={(s) => setParams(withSort(params, s))} />
            <SortHeader label="Title" sort="title" params={params} total={list?.total ?? 0} onSort={(s) => setParams(withSort(params, s))} />
            <Table.Th>Resource</Table.Th>
            <SortHeader label="Business tier" sort="business_tier" params={params} total={list?.total ?? 0} onSort={(s) => setParams(withSort(params, s))} />
            <Table.Th>Tool</Table.Th>
            <Table.Th>Status</Table.Th>
            <Table.Th>Assignee</Table.Th>
            <SortHeader label="First seen" sort="first_seen" params={params} total={list?.total ?? 0} onSort={(s) => setParams(withSort(params, s))} />
            <SortHeader label="Last seen" sort="last_seen" params={params} total={list?.total ?? 0} onSort={(s) => setParams(withSort(params, s))} />
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {rows.map((f) => (
            <Table.Tr key={f.id} style={{ cursor: "pointer" }} onClick={() => openDetail(f.id)} data-testid="finding-row">
              {triage && (
                <Table.Td onClick={(e) => e.stopPropagation()}>
                  <Checkbox aria-label={`Select ${f.title}`} data-testid="select-row" checked={isSelected(selection, f.id)}
                    onChange={() => setSelection((s) => toggle(s, f.id))} />
                </Table.Td>
              )}
              <Table.Td><SeverityBadge severity={f.severity} /></Table.Td>
              <Table.Td><Text size="sm" lineClamp={2} data-testid="finding-title">{f.title}</Text></Table.Td>
              <Table.Td><Text size="xs" lineClamp={1}>{f.resource_name || f.resource_uid || f.target}{f.location ? ` · ${f.location}` : ""}</Text></Table.Td>
              <Table.Td><BusinessTierBadge tier={f.business_tier} /></Table.Td>
              <Table.Td><Text size="sm">{f.tool}</Text></Table.Td>
              <Table.Td><FindingStatusBadge f={f} /></Table.Td>
              <Table.Td><Text size="xs" lineClamp={1}>{f.assignee_email ?? ""}</Text></Table.Td>
              <Table.Td><Text size="xs">{new Date(f.first_seen).toLocaleDateString()}</Text></Table.Td>
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
        styles={{ title: wrap, content: { overflowX: "hidden" } }}
        closeButtonProps={{ "aria-label": "Close" }}>
        {selected && <FindingDetailView f={selected} onChange={() => { openDetail(selected.id); setReload((n) => n + 1); }} />}
      </Drawer>
    </Stack>
  );
}
