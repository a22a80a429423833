import { useEffect, useMemo, useState } from "react";
import { Alert, Anchor, Badge, Button, Card, Group, SimpleGrid, Stack, Table, Text, TextInput, Textarea, Title } from "@mantine/core";
import { Link, useSearchParams } from "react-router-dom";
import { api, type MutePreview, type MuteRule } from "../api/client";
import { ErrorAlert } from "../components/ErrorAlert";
import { EmptyState } from "../components/EmptyState";
import { SeverityBadge } from "../components/SeverityBadge";
import { useAuth } from "../auth";
import { useAction } from "../useAction";
import { todayISO } from "../mute";
import { emptyMatchers, hasMatcher, matchersFromSearch, RULE_FIELDS, RULE_LABELS, ruleBody, type RuleMatchers } from "../muteRules";

// RuleForm creates a rule, previewing what it would mute as it is typed.
function RuleForm({ initial, onCreated }: { initial: RuleMatchers; onCreated: (muted: number) => void }) {
  const [m, setM] = useState<RuleMatchers>(initial);
  const [reason, setReason] = useState("");
  const [expires, setExpires] = useState("");
  const [preview, setPreview] = useState<MutePreview | null>(null);
  const [previewError, setPreviewError] = useState<unknown>(null);
  const { busy, error, run } = useAction();
  useEffect(() => setM(initial), [initial]);
  const key = JSON.stringify(ruleBody(m));
  useEffect(() => {
    setPreview(null);
    setPreviewError(null);
    if (!hasMatcher(m)) return;
    // Wait until typing pauses: every preview counts the team's findings.
    const t = setTimeout(() => api.previewMuteRule(ruleBody(m)).then(setPreview, setPreviewError), 350);
    return () => clearTimeout(t);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [key]);
  const save = () => run(async () => {
    const r = await api.createMuteRule(ruleBody(m, reason, expires));
    setM(emptyMatchers());
    setReason("");
    setExpires("");
    onCreated(r.muted);
  });
  return (
    <Card withBorder data-testid="rule-form">
      <Title order={4} mb="xs">New rule</Title>
      <Text size="sm" c="dimmed" mb="sm">
        A rule mutes the stored findings it matches now and every matching finding later imports or scans report. Globs take * and ?;
        every field given must match.
      </Text>
      <SimpleGrid cols={{ base: 1, sm: 2, lg: 3 }}>
        {RULE_FIELDS.map((k) => (
          <TextInput key={k} label={RULE_LABELS[k]} value={m[k]} onChange={(e) => setM({ ...m, [k]: e.currentTarget.value })} data-testid={`rule-${k}`} />
        ))}
      </SimpleGrid>
      <Group align="flex-end" mt="sm">
        <Textarea label="Reason" required autosize minRows={1} value={reason} onChange={(e) => setReason(e.currentTarget.value)} style={{ flex: 1 }} miw={220} data-testid="rule-reason" />
        <TextInput label="Expires (optional)" type="date" min={todayISO()} value={expires} onChange={(e) => setExpires(e.currentTarget.value)} w={170} data-testid="rule-expires" />
      </Group>
      <Stack gap={4} mt="sm" data-testid="rule-preview">
        {!hasMatcher(m) && <Text size="sm" c="dimmed">Name at least one field to see what the rule would mute.</Text>}
        <ErrorAlert error={previewError} />
        {preview && (
          <>
            <Text size="sm" fw={600} data-testid="rule-preview-count">
              Would mute {preview.matches} stored finding{preview.matches === 1 ? "" : "s"} now ({preview.open} open).
            </Text>
            {preview.sample.map((f) => (
              <Group key={f.id} gap="xs" wrap="nowrap">
                <SeverityBadge severity={f.severity} />
                <Text size="xs" style={{ overflowWrap: "anywhere" }}>{f.title} · {f.resource_uid || f.target || f.location}</Text>
              </Group>
            ))}
          </>
        )}
      </Stack>
      <ErrorAlert error={error} />
      <Group mt="sm">
        <Button onClick={save} loading={busy} disabled={!hasMatcher(m) || reason.trim().length < 3} data-testid="rule-save">Save rule</Button>
      </Group>
    </Card>
  );
}

export function MuteRulesPage() {
  const { can } = useAuth();
  const [search] = useSearchParams();
  const initial = useMemo(() => matchersFromSearch(search), [search]);
  const [rules, setRules] = useState<MuteRule[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [notice, setNotice] = useState("");
  const load = () => api.muteRules().then((r) => setRules(r.rules), setError);
  useEffect(() => { load(); }, []);
  const triage = can("findings:triage");
  const remove = async (r: MuteRule) => {
    if (!window.confirm("Delete this rule? The findings it muted are unmuted.")) return;
    try {
      const res = await api.deleteMuteRule(r.id);
      setNotice(`Rule deleted; ${res.unmuted} finding${res.unmuted === 1 ? "" : "s"} unmuted.`);
      load();
    } catch (e) {
      setError(e);
    }
  };
  const matchers = (r: MuteRule) => RULE_FIELDS.filter((k) => r[k]).map((k) => (
    <Text key={k} size="xs" style={{ overflowWrap: "anywhere" }}><Text span c="dimmed" size="xs">{RULE_LABELS[k].split(" (")[0]}:</Text> {r[k]}</Text>
  ));
  return (
    <Stack>
      <Title order={2}>Mute rules</Title>
      <ErrorAlert error={error} />
      {notice && <Alert color="green" withCloseButton onClose={() => setNotice("")} data-testid="rule-notice">{notice}</Alert>}
      {triage && <RuleForm initial={initial} onCreated={(n) => { setNotice(`Rule saved; ${n} finding${n === 1 ? "" : "s"} muted now.`); load(); }} />}
      {rules && rules.length === 0 && (
        <EmptyState title="No mute rules" testid="rules-empty" steps={[{ label: "Open the findings", to: "/findings" }]}>
          A rule mutes findings that are expected, such as a sandbox account or a check that does not apply. Start one from a finding
          (&quot;Mute everything like this&quot;) or fill the form above.
        </EmptyState>
      )}
      {rules && rules.length > 0 && (
        <Table.ScrollContainer minWidth={820}>
          <Table striped data-testid="rules-table">
            <Table.Thead>
              <Table.Tr><Table.Th>Matches</Table.Th><Table.Th>Reason</Table.Th><Table.Th>By</Table.Th><Table.Th>Expires</Table.Th><Table.Th /></Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {rules.map((r) => {
                const expired = r.expires_at ? new Date(r.expires_at).getTime() <= Date.now() : false;
                return (
                  <Table.Tr key={r.id} data-testid="rule-row">
                    <Table.Td>{matchers(r)}</Table.Td>
                    <Table.Td><Text size="sm" style={{ overflowWrap: "anywhere" }}>{r.reason}</Text></Table.Td>
                    <Table.Td><Text size="xs">{r.created_by}</Text><Text size="xs" c="dimmed">{new Date(r.created_at).toLocaleDateString()}</Text></Table.Td>
                    <Table.Td>
                      {r.expires_at ? (
                        <Badge color={expired ? "red" : "gray"} variant="light">{expired ? "expired " : ""}{new Date(r.expires_at).toLocaleDateString()}</Badge>
                      ) : <Text size="xs" c="dimmed">never</Text>}
                    </Table.Td>
                    <Table.Td>
                      <Group gap={4} justify="flex-end" wrap="nowrap">
                        <Anchor component={Link} size="xs" to={`/findings?status=muted`}>findings</Anchor>
                        {triage && <Button size="xs" variant="subtle" color="red" onClick={() => remove(r)} data-testid="rule-delete">Delete</Button>}
                      </Group>
                    </Table.Td>
                  </Table.Tr>
                );
              })}
            </Table.Tbody>
          </Table>
        </Table.ScrollContainer>
      )}
    </Stack>
  );
}
