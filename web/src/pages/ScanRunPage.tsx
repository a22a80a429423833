import { useCallback, useEffect, useState } from "react";
import { Anchor, Badge, Button, Group, Progress, Stack, Table, Text, Title } from "@mantine/core";
import { Link, useParams } from "react-router-dom";
import { api, type ScanRun } from "../api/client";
import { ErrorAlert } from "../components/ErrorAlert";
import { useAuth } from "../auth";
import { useAction } from "../useAction";

export const runStatusColor: Record<string, string> = {
  completed: "green", partial: "orange", failed: "red", running: "blue", retrying: "yellow", queued: "gray", cancelled: "dark",
};
const final = new Set(["completed", "partial", "failed", "cancelled"]);

type Counts = { items_read: number; findings_created: number; findings_updated: number; findings_unchanged?: number; findings_resolved: number };

// hasFindings: the run read items or changed findings, so its findings list
// has something to show.
export function hasFindings(r: Counts): boolean {
  return r.items_read + r.findings_created + r.findings_updated + (r.findings_unchanged ?? 0) + r.findings_resolved > 0;
}

type RunLike = Pick<ScanRun, "status" | "subjobs_total" | "subjobs_done" | "subjobs_failed">;

// progressSections splits a run's bar into what finished well and what
// failed: a failed run is a red bar, a partial one green and red.
export function progressSections(run: RunLike): { ok: number; failed: number; okColor: string } {
  const total = Math.max(run.subjobs_total, 1);
  const failed = run.subjobs_failed;
  const ok = Math.max(run.subjobs_done - failed, 0);
  const okColor = run.status === "running" || run.status === "queued" ? "blue" : run.status === "cancelled" ? "gray" : "green";
  return { ok: (ok / total) * 100, failed: (failed / total) * 100, okColor };
}

export function RunProgress({ run, size = "md" }: { run: RunLike; size?: string }) {
  const p = progressSections(run);
  const running = !final.has(run.status);
  return (
    <Progress.Root size={size} data-testid="run-progress" data-status={run.status}>
      {p.ok > 0 && <Progress.Section value={p.ok} color={p.okColor} animated={running} data-testid="progress-ok" />}
      {p.failed > 0 && <Progress.Section value={p.failed} color="red" data-testid="progress-failed" />}
    </Progress.Root>
  );
}

// ScanRunPage shows a ScanRun and its SubJobs, refreshed every two seconds
// while it runs.
export function ScanRunPage() {
  const { id = "" } = useParams();
  const { can } = useAuth();
  const [run, setRun] = useState<ScanRun | null>(null);
  const [error, setError] = useState<unknown>(null);
  const { busy: cancelling, error: cancelError, run: act } = useAction();
  const load = useCallback(() => api.scanRun(id).then(setRun, setError), [id]);
  useEffect(() => {
    load();
  }, [load]);
  const running = run !== null && !final.has(run.status);
  useEffect(() => {
    if (!running) return;
    const t = window.setInterval(load, 2000);
    return () => window.clearInterval(t);
  }, [running, load]);
  const cancel = () =>
    act(async () => {
      await api.cancelScan(id);
      await load();
    });
  if (!run) return <ErrorAlert error={error} />;
  return (
    <Stack>
      <Group justify="space-between" wrap="nowrap" align="start">
        <Title order={2} style={{ overflowWrap: "anywhere", minWidth: 0 }}>
          {run.scan_type} scan {run.account_uid ? `of ${run.account_uid}` : `of ${run.targets.join(", ")}`}
        </Title>
        {running && can("scans:run") && (
          <Button color="red" variant="light" loading={cancelling} onClick={cancel} data-testid="scan-cancel">Cancel</Button>
        )}
      </Group>
      <ErrorAlert error={error ?? cancelError} />
      <Group>
        <Badge size="lg" color={runStatusColor[run.status]} data-testid="run-status">{run.status}</Badge>
        <Text size="sm">{run.tools.join(", ")} · {run.subjobs_done} of {run.subjobs_total} SubJobs done{run.subjobs_failed ? `, ${run.subjobs_failed} failed` : ""}</Text>
        {final.has(run.status) && hasFindings(run) && (
          <Anchor component={Link} to={`/findings?scan=${run.id}`} size="sm" data-testid="run-findings">findings of this scan</Anchor>
        )}
        {final.has(run.status) && !hasFindings(run) && (
          <Text size="sm" c="dimmed" data-testid="run-no-findings">{run.status === "completed" ? "no findings: the targets are clean" : "this run produced no findings"}</Text>
        )}
      </Group>
      <RunProgress run={run} />
      {run.status === "partial" && (
        <Text size="sm" data-testid="run-partial">{run.subjobs_done - run.subjobs_failed} SubJob(s) completed, {run.subjobs_failed} failed: the failed ones are marked below with their error.</Text>
      )}
      {run.status_detail && <Text size="sm" c={run.status === "queued" ? "dimmed" : "red"} style={{ overflowWrap: "anywhere" }} data-testid="run-detail">{run.status_detail}</Text>}
      <Text size="sm">
        {run.items_read} items read · {run.findings_created} new · {run.findings_updated} changed · {run.findings_unchanged} unchanged · {run.findings_resolved} resolved
      </Text>
      <Table.ScrollContainer minWidth={720}>
      <Table striped data-testid="subjobs-table">
        <Table.Thead>
          <Table.Tr>
            <Table.Th>Tool</Table.Th>
            <Table.Th>Region / target</Table.Th>
            <Table.Th>Status</Table.Th>
            <Table.Th>Attempts</Table.Th>
            <Table.Th>Items</Table.Th>
            <Table.Th>New</Table.Th>
            <Table.Th>Report</Table.Th>
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {(run.subjobs ?? []).map((s) => (
            <Table.Tr key={s.id} data-testid="subjob-row">
              <Table.Td>{s.tool}</Table.Td>
              <Table.Td><Text size="sm">{s.region || s.target}</Text></Table.Td>
              <Table.Td>
                <Badge color={runStatusColor[s.status]} variant="light">{s.status}</Badge>
                {s.error && <Text size="xs" c="red" lineClamp={3} title={s.error} maw={360} style={{ overflowWrap: "anywhere" }}>{s.error}</Text>}
              </Table.Td>
              <Table.Td>{s.attempts}</Table.Td>
              <Table.Td>{s.items_read}</Table.Td>
              <Table.Td>{s.findings_created}</Table.Td>
              <Table.Td>
                {s.has_artifact && <Anchor href={api.artifactURL(run.id, s.id)} size="sm" data-testid="subjob-artifact">download</Anchor>}
              </Table.Td>
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
      </Table.ScrollContainer>
    </Stack>
  );
}
