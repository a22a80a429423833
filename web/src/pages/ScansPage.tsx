import { useEffect, useState } from "react";
import { Anchor, Badge, Button, Group, Modal, SegmentedControl, Select, Stack, Table, Tabs, Text, Textarea, TextInput, Title } from "@mantine/core";
import { Link, useNavigate, useSearchParams } from "react-router-dom";
import { api, type ScanResult, type ScanRun } from "../api/client";
import { ErrorAlert } from "../components/ErrorAlert";
import { EmptyState, firstSteps } from "../components/EmptyState";
import { useAuth } from "../auth";
import { useAction } from "../useAction";
import { hasFindings, RunProgress, runStatusColor } from "./ScanRunPage";
import { isMissing, useToolInventory, type ToolInventory } from "../tools";
import { MissingTools } from "../components/MissingTools";

const TOOLS: Record<string, { value: string; label: string }[]> = {
  network: [{ value: "nmap", label: "Nmap" }],
  web: [{ value: "wapiti", label: "Wapiti" }],
  container: [{ value: "trivy", label: "Trivy" }, { value: "grype", label: "Grype" }],
  code: [{ value: "checkov", label: "Checkov (infrastructure as code)" }, { value: "osv-scanner", label: "OSV-Scanner (dependencies)" }],
};
const TARGET_HINT: Record<string, string> = {
  network: "IP addresses, CIDR blocks (at most /16) or hostnames, one per line",
  web: "URLs (http or https), one per line",
  container: "Image references (registry/repository:tag), one per line",
  code: "Paths on the worker under a configured code scan root: a checkout, a directory, a lockfile or an SBOM, one per line",
};

// firstAvailable is the first tool of a scan type that is not known to be missing.
function firstAvailable(inv: ToolInventory, type: string): string {
  return (TOOLS[type].find((t) => !isMissing(inv, t.value)) ?? TOOLS[type][0]).value;
}

// NewScanForm starts a network, web, container or code scan; cloud scans start
// from the cloud accounts page. Tools the workers do not have are shown,
// disabled, with how to install them.
export function NewScanForm({ onStarted, inventory }: { onStarted: (id: string) => void; inventory?: ToolInventory }) {
  const loaded = useToolInventory();
  const inv = inventory ?? loaded;
  const [type, setType] = useState("network");
  const [picked, setTool] = useState<string | null>(null);
  const tool = picked ?? firstAvailable(inv, type);
  const [targets, setTargets] = useState("");
  const [ports, setPorts] = useState("");
  const { busy, error, run } = useAction();
  const start = () =>
    run(async () => {
      const list = targets.split(/[\n,]/).map((t) => t.trim()).filter(Boolean);
      const scan = await api.startScan({ type, tools: [tool], targets: list, ports: type === "network" && ports ? ports : undefined });
      onStarted(scan.id);
    });
  const data = TOOLS[type].map((t) => ({ ...t, label: isMissing(inv, t.value) ? `${t.label} (not installed)` : t.label, disabled: isMissing(inv, t.value) }));
  return (
    <Stack>
      <ErrorAlert error={error} />
      <SegmentedControl value={type} data={["network", "web", "container", "code"]} data-testid="scan-type"
        onChange={(v) => { setType(v); setTool(null); }} />
      <Select label="Tool" data={data} value={tool} onChange={(v) => setTool(v)} allowDeselect={false} data-testid="scan-tool" />
      <MissingTools inv={inv} tools={TOOLS[type].map((t) => t.value)} />
      <Textarea label="Targets" description={TARGET_HINT[type]} autosize minRows={3} value={targets}
        onChange={(e) => setTargets(e.currentTarget.value)} data-testid="scan-targets" />
      {type === "network" && <TextInput label="Ports" placeholder="22,443,8000-8100 (default: Nmap's top ports)" value={ports} onChange={(e) => setPorts(e.currentTarget.value)} data-testid="scan-ports" />}
      <Group justify="flex-end">
        <Button onClick={start} loading={busy} disabled={isMissing(inv, tool)} data-testid="scan-submit">Start scan</Button>
      </Group>
    </Stack>
  );
}

function RunsTable({ runs }: { runs: ScanRun[] }) {
  return (
    <Table.ScrollContainer minWidth={760}>
    <Table striped data-testid="runs-table">
      <Table.Thead>
        <Table.Tr>
          <Table.Th>Created</Table.Th>
          <Table.Th>Type</Table.Th>
          <Table.Th>Scope</Table.Th>
          <Table.Th>Tools</Table.Th>
          <Table.Th>Status</Table.Th>
          <Table.Th>Progress</Table.Th>
        </Table.Tr>
      </Table.Thead>
      <Table.Tbody>
        {runs.map((r) => (
          <Table.Tr key={r.id}>
            <Table.Td><Anchor component={Link} to={`/scans/${r.id}`} size="xs">{new Date(r.created_at).toLocaleString()}</Anchor></Table.Td>
            <Table.Td>{r.scan_type}</Table.Td>
            <Table.Td><Text size="sm" lineClamp={1}>{r.account_uid ? `${r.account_uid} ${r.regions.join(", ")}` : r.targets.join(", ")}</Text></Table.Td>
            <Table.Td>{r.tools.join(", ")}</Table.Td>
            <Table.Td>
              <Badge color={runStatusColor[r.status]} variant="light">{r.status}</Badge>
              {r.status_detail && <Text size="xs" c="dimmed" lineClamp={1}>{r.status_detail}</Text>}
            </Table.Td>
            <Table.Td w={160}><RunProgress run={r} size="sm" /><Text size="xs">{r.subjobs_done}/{r.subjobs_total}</Text></Table.Td>
          </Table.Tr>
        ))}
      </Table.Tbody>
    </Table>
    </Table.ScrollContainer>
  );
}

export function ScansPage() {
  const { can } = useAuth();
  const navigate = useNavigate();
  const [params, setParams] = useSearchParams();
  const tab = params.get("tab") ?? "history";
  const [scans, setScans] = useState<ScanResult[]>([]);
  const [total, setTotal] = useState(0);
  const [runs, setRuns] = useState<ScanRun[]>([]);
  const [error, setError] = useState<unknown>(null);
  // /scans?new=1 (the empty states' "Start a scan") opens the form.
  const [starting, setStarting] = useState(params.get("new") === "1" && can("scans:run"));
  const [loaded, setLoaded] = useState({ scans: false, runs: false });
  useEffect(() => {
    api.scanResults({ limit: "100" }).then((r) => {
      setScans(r.scan_results);
      setTotal(r.total);
      setLoaded((l) => ({ ...l, scans: true }));
    }, setError);
    api.scanRuns({ limit: "100" }).then((r) => { setRuns(r.runs); setLoaded((l) => ({ ...l, runs: true })); }, setError);
  }, []);
  const steps = firstSteps(can).filter((s) => s.to !== "/scans?new=1");
  return (
    <Stack>
      <Group justify="space-between">
        <Title order={2}>Scans</Title>
        {can("scans:run") && <Button onClick={() => setStarting(true)} data-testid="scan-new">New scan</Button>}
      </Group>
      <ErrorAlert error={error} />
      <Tabs value={tab} onChange={(v) => setParams(v === "runs" ? { tab: "runs" } : {})}>
        <Tabs.List>
          <Tabs.Tab value="history">History ({total})</Tabs.Tab>
          <Tabs.Tab value="runs" data-testid="tab-runs">Scan runs</Tabs.Tab>
        </Tabs.List>
        <Tabs.Panel value="history" pt="sm">
          <Text c="dimmed" size="sm">Cloud, network, web, container and code scans and imported reports, newest first.</Text>
          {loaded.scans && scans.length === 0 && (
            <EmptyState title="No scans or imports yet" steps={steps} testid="scans-empty">
              {can("scans:run") ? "Start a network, web or container scan with New scan, scan a cloud account, or import a scanner report." : "Scans and imported reports appear here once someone runs or imports one."}
            </EmptyState>
          )}
          <Table.ScrollContainer minWidth={860}>
          <Table striped data-testid="scans-table">
            <Table.Thead>
              <Table.Tr>
                <Table.Th>Started</Table.Th>
                <Table.Th>Type</Table.Th>
                <Table.Th>Tool</Table.Th>
                <Table.Th>Source</Table.Th>
                <Table.Th>Status</Table.Th>
                <Table.Th>Items</Table.Th>
                <Table.Th>New / changed / resolved</Table.Th>
                <Table.Th />
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {scans.map((s) => (
                <Table.Tr key={s.id}>
                  <Table.Td><Text size="xs">{new Date(s.started_at).toLocaleString()}</Text></Table.Td>
                  <Table.Td>{s.scan_type}</Table.Td>
                  <Table.Td>{s.tool}</Table.Td>
                  <Table.Td>
                    {s.source === "scan" ? <Anchor component={Link} to={`/scans/${s.id}`} size="sm">scan · {s.account_uid || s.target}</Anchor>
                      : <Text size="sm">{s.source}{s.filename ? ` · ${s.filename}` : ""}</Text>}
                  </Table.Td>
                  <Table.Td>
                    <Badge color={runStatusColor[s.status] ?? "gray"} variant="light">{s.status}</Badge>
                    {s.error && <Text size="xs" c="red" lineClamp={2} title={s.error} style={{ overflowWrap: "anywhere" }}>{s.error}</Text>}
                  </Table.Td>
                  <Table.Td>{s.items_read}</Table.Td>
                  <Table.Td>{s.findings_created} / {s.findings_updated} / {s.findings_resolved}</Table.Td>
                  <Table.Td>{(s.status === "completed" || s.status === "partial") && hasFindings(s) && <Anchor component={Link} to={`/findings?scan=${s.id}`} size="sm">findings</Anchor>}</Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
          </Table.ScrollContainer>
        </Tabs.Panel>
        <Tabs.Panel value="runs" pt="sm">
          {loaded.runs && runs.length === 0 && (
            <EmptyState title="No scan runs yet" steps={steps} testid="runs-empty">
              {can("scans:run") ? "Start one with New scan, or scan a cloud account from Cloud accounts." : "Scan runs appear here once someone starts a scan."}
            </EmptyState>
          )}
          <RunsTable runs={runs} />
        </Tabs.Panel>
      </Tabs>
      <Modal opened={starting} onClose={() => { setStarting(false); if (params.get("new")) setParams(tab === "runs" ? { tab: "runs" } : {}); }} title="New network, web, container or code scan" size="lg">
        <Text size="sm" c="dimmed" mb="sm">Cloud accounts are scanned from <Anchor component={Link} to="/cloud-accounts">Cloud accounts</Anchor>.</Text>
        <NewScanForm onStarted={(id) => navigate(`/scans/${id}`)} />
      </Modal>
    </Stack>
  );
}
