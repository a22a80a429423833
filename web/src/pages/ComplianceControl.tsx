import { useCallback, useEffect, useState } from "react";
import { Anchor, Badge, Button, Card, Group, ScrollArea, SimpleGrid, Stack, Table, Text, Title } from "@mantine/core";
import { Link } from "react-router-dom";
import { ErrorAlert } from "../components/ErrorAlert";
import { SeverityBadge } from "../components/SeverityBadge";
import { useAuth } from "../auth";
import { checkFindingsHref, complianceApi, sortEvidence, formatScore, formatWhen, frameworkHref, type ControlDetail } from "../compliance";
import { ScoreRing } from "./CompliancePage";
import { findingsHref } from "../links";
import { StatusBadge } from "./ComplianceFramework";
import { AttestationForm, AttestationTable } from "./ComplianceAttestations";

const wrap = { overflowWrap: "anywhere" as const };

function Field({ label, children }: { label: string; children: React.ReactNode }) {
  return (
    <div>
      <Text size="xs" c="dimmed" tt="uppercase" fw={700}>{label}</Text>
      <Text size="sm" style={{ ...wrap, whiteSpace: "pre-wrap" }}>{children || "—"}</Text>
    </div>
  );
}

export function ComplianceControlPage({ id }: { id: string }) {
  const { can } = useAuth();
  const [c, setC] = useState<ControlDetail | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [allChecks, setAllChecks] = useState(false);
  const load = useCallback(() => complianceApi.control(id).then((d) => { setC(d); setError(null); }, setError), [id]);
  useEffect(() => {
    void load();
  }, [load]);
  if (!c) return (<><Title order={2}>Control</Title><ErrorAlert error={error} /></>);
  const r = c.result;
  // Checks with results first; those the team never ran (often most of
  // them) behind a button.
  const sorted = sortEvidence(r.evidence);
  const withResults = sorted.filter((e) => e.passed + e.failed + e.muted + e.manual > 0);
  const shownChecks = allChecks || withResults.length === 0 ? sorted : withResults;
  const quiet = withResults.length > 0 ? sorted.length - withResults.length : 0;
  const extra = Object.entries(c.extra ?? {}).filter(([, v]) => v !== "" && v !== null && v !== undefined);
  return (
    <Stack data-testid="control-detail">
      <Anchor component={Link} to={frameworkHref(c.framework_id, c.domain_urn)} size="sm">← {c.framework_name}{c.domain_name ? ` · ${c.domain_name}` : ""}</Anchor>
      <Group wrap="nowrap" align="flex-start">
        <ScoreRing score={r.score} size={96} testid="control-score" />
        <Stack gap={4} style={{ minWidth: 0, flex: 1 }}>
          <Title order={2} style={wrap} data-testid="control-title">{c.ref_id} · {c.name}</Title>
          <Group gap={6}>
            <StatusBadge status={r.status} attested={r.attested} />
            <Badge variant="outline" color="gray">weight {c.weight}</Badge>
          </Group>
          <Text size="sm" c="dimmed">
            {r.passed} passed · {r.failed} failed · {r.muted} muted · {r.manual} manual resources
            {r.last_scan_at && (
              <>
                {" · newest scan "}
                {r.last_scan_id ? (
                  <Anchor component={Link} to={findingsHref({ scan: r.last_scan_id })} size="sm" data-testid="control-newest-scan">{formatWhen(r.last_scan_at)}</Anchor>
                ) : formatWhen(r.last_scan_at)}
              </>
            )}
          </Text>
          <Text size="xs" c="dimmed">Scored {formatWhen(c.updated_at)}</Text>
        </Stack>
      </Group>
      <Card withBorder>
        <SimpleGrid cols={{ base: 1, md: 2 }}>
          <Field label="Description">{c.description}</Field>
          <Field label="Control question">{c.question}</Field>
          {extra.map(([k, v]) => <Field key={k} label={k}>{typeof v === "string" ? v : Array.isArray(v) ? v.join(", ") : JSON.stringify(v)}</Field>)}
        </SimpleGrid>
      </Card>

      <Card withBorder>
        <Title order={4} mb="xs">Mapped checks</Title>
        {r.evidence.length === 0 ? (
          <Text size="sm" c="dimmed" data-testid="checks-none">No scanner check reaches this control. Attest it below if it is met by a process.</Text>
        ) : (
          <ScrollArea type="auto">
            <Table miw={760} data-testid="control-checks">
              <Table.Thead>
                <Table.Tr>
                  <Table.Th>Check</Table.Th>
                  <Table.Th>Via</Table.Th>
                  <Table.Th ta="right">Passed</Table.Th>
                  <Table.Th ta="right">Failed</Table.Th>
                  <Table.Th ta="right">Muted</Table.Th>
                  <Table.Th ta="right">Manual</Table.Th>
                  <Table.Th>Newest scan</Table.Th>
                </Table.Tr>
              </Table.Thead>
              <Table.Tbody>
                {shownChecks.map((e) => (
                  <Table.Tr key={e.tool + e.check_id} data-testid="check-row">
                    <Table.Td style={wrap}>
                      <Text size="sm" fw={500}>{e.check_id}</Text>
                      <Text size="xs" c="dimmed">{e.tool} · {e.coverage} coverage</Text>
                    </Table.Td>
                    <Table.Td style={wrap}><Text size="xs">{e.via}</Text></Table.Td>
                    <Table.Td ta="right"><Text size="sm" c={e.passed ? "green" : undefined}>{e.passed}</Text></Table.Td>
                    <Table.Td ta="right">
                      {e.failed > 0 ? (
                        <Anchor component={Link} to={checkFindingsHref(e.check_id, e.tool)} c="red" fw={700} data-testid="check-failing-link">{e.failed}</Anchor>
                      ) : (
                        <Text size="sm">0</Text>
                      )}
                    </Table.Td>
                    <Table.Td ta="right">{e.muted}</Table.Td>
                    <Table.Td ta="right">{e.manual}</Table.Td>
                    <Table.Td><Text size="xs">{e.last_scan_at ? formatWhen(e.last_scan_at) : "—"}</Text></Table.Td>
                  </Table.Tr>
                ))}
              </Table.Tbody>
            </Table>
          </ScrollArea>
        )}
        {quiet > 0 && (
          <Button size="xs" variant="subtle" mt="xs" onClick={() => setAllChecks(!allChecks)} data-testid="checks-toggle">
            {allChecks ? "Hide the checks without results" : `Show ${quiet} more mapped checks without results`}
          </Button>
        )}
      </Card>

      {c.failing_findings.length > 0 && (
        <Card withBorder>
          <Title order={4} mb="xs">Failing findings{c.failing_findings.length >= 50 ? " (first 50)" : ""}</Title>
          <ScrollArea type="auto">
            <Table miw={720} data-testid="failing-findings">
              <Table.Thead>
                <Table.Tr>
                  <Table.Th>Severity</Table.Th>
                  <Table.Th>Finding</Table.Th>
                  <Table.Th>Resource</Table.Th>
                  <Table.Th>Account · region</Table.Th>
                </Table.Tr>
              </Table.Thead>
              <Table.Tbody>
                {c.failing_findings.map((ff) => (
                  <Table.Tr key={ff.id}>
                    <Table.Td><SeverityBadge severity={ff.severity} /></Table.Td>
                    <Table.Td style={wrap}>
                      <Anchor component={Link} to={checkFindingsHref(ff.check_id)} size="sm" data-testid="failing-finding-link">{ff.title}</Anchor>
                      <Text size="xs" c="dimmed">{ff.check_id}</Text>
                    </Table.Td>
                    <Table.Td style={wrap}><Text size="xs">{ff.resource_uid}</Text></Table.Td>
                    <Table.Td style={wrap}><Text size="xs">{ff.account_uid} · {ff.region}</Text></Table.Td>
                  </Table.Tr>
                ))}
              </Table.Tbody>
            </Table>
          </ScrollArea>
        </Card>
      )}

      <Card withBorder>
        <Title order={4} mb="xs">Framework requirements it satisfies</Title>
        {c.requirements.length === 0 ? (
          <Text size="sm" c="dimmed">No loaded framework maps to this control.</Text>
        ) : (
          <ScrollArea type="auto" mah={420}>
            <Table miw={620} data-testid="control-requirements">
              <Table.Thead>
                <Table.Tr>
                  <Table.Th>Framework</Table.Th>
                  <Table.Th>Requirement</Table.Th>
                  <Table.Th>Coverage</Table.Th>
                  <Table.Th>Via</Table.Th>
                </Table.Tr>
              </Table.Thead>
              <Table.Tbody>
                {c.requirements.map((q) => (
                  <Table.Tr key={q.framework_id + q.urn}>
                    <Table.Td style={wrap}><Text size="sm">{q.framework_name}</Text></Table.Td>
                    <Table.Td style={wrap}>
                      <Anchor component={Link} to={frameworkHref(q.framework_id, q.urn)} size="sm">{q.ref_id}</Anchor>
                      <Text size="xs" c="dimmed" lineClamp={2}>{q.name}</Text>
                    </Table.Td>
                    <Table.Td><Text size="xs">{q.coverage}</Text></Table.Td>
                    <Table.Td style={wrap}><Text size="xs">{q.via}</Text></Table.Td>
                  </Table.Tr>
                ))}
              </Table.Tbody>
            </Table>
          </ScrollArea>
        )}
      </Card>

      <Card withBorder>
        <Title order={4} mb="xs">Attestations</Title>
        <AttestationTable list={c.attestations} onChanged={load} />
        {can("compliance:manage") && <AttestationForm control={c.ref_id} onCreated={load} />}
      </Card>
      <Text size="xs" c="dimmed">Score {formatScore(r.score)} = passed / (passed + failed) resources of the mapped checks; muted findings never fail a control.</Text>
    </Stack>
  );
}
