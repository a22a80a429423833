import { useCallback, useEffect, useState } from "react";
import { Anchor, Badge, Button, Card, FileInput, Group, ScrollArea, Stack, Table, Text, TextInput, Textarea, Title } from "@mantine/core";
import { Link } from "react-router-dom";
import { useAuth } from "../auth";
import { useAction } from "../useAction";
import { ErrorAlert } from "../components/ErrorAlert";
import { complianceApi, controlHref, expiryFromDate, formatWhen, isExpired, postForm, type Attestation } from "../compliance";

const wrap = { overflowWrap: "anywhere" as const };

function inDays(n: number): string {
  return new Date(Date.now() + n * 86400000).toISOString().slice(0, 10);
}

// AttestationTable lists attestations; lapsed ones are flagged, as they no
// longer stand for their control.
export function AttestationTable({ list, onChanged, showControl }: { list: Attestation[]; onChanged: () => void; showControl?: boolean }) {
  const { can } = useAuth();
  const { busy, error, run } = useAction();
  if (list.length === 0) return <Text size="sm" c="dimmed" data-testid="attestations-none">No attestations.</Text>;
  return (
    <>
      <ErrorAlert error={error} />
      <ScrollArea type="auto">
        <Table miw={760} data-testid="attestations-table">
          <Table.Thead>
            <Table.Tr>
              {showControl && <Table.Th>Control</Table.Th>}
              <Table.Th>Statement</Table.Th>
              <Table.Th>Owner</Table.Th>
              <Table.Th>Expires</Table.Th>
              <Table.Th>Evidence</Table.Th>
              <Table.Th />
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {list.map((a) => {
              const expired = isExpired(a);
              return (
                <Table.Tr key={a.id} data-testid="attestation-row" data-expired={expired ? "true" : "false"}>
                  {showControl && (
                    <Table.Td><Anchor component={Link} to={controlHref(a.control_urn)} size="sm">{a.control_ref_id}</Anchor></Table.Td>
                  )}
                  <Table.Td style={wrap}>
                    <Text size="sm" lineClamp={3}>{a.statement}</Text>
                    <Text size="xs" c="dimmed">by {a.created_by} · {formatWhen(a.created_at)}</Text>
                  </Table.Td>
                  <Table.Td style={wrap}><Text size="sm">{a.owner || "—"}</Text></Table.Td>
                  <Table.Td>
                    <Text size="sm">{a.expires_at.slice(0, 10)}</Text>
                    {expired ? <Badge color="red" size="sm" data-testid="attestation-expired">expired</Badge> : <Badge color="green" size="sm" variant="light">valid</Badge>}
                  </Table.Td>
                  <Table.Td style={wrap}>
                    {a.evidence_name ? (
                      <Anchor href={complianceApi.evidenceURL(a.id)} size="sm" data-testid="attestation-evidence">{a.evidence_name}</Anchor>
                    ) : (
                      <Text size="xs" c="dimmed">none</Text>
                    )}
                  </Table.Td>
                  <Table.Td>
                    {can("compliance:manage") && (
                      <Button size="xs" variant="subtle" color="red" loading={busy}
                        onClick={() => window.confirm("Withdraw this attestation and delete its evidence?") && run(async () => { await complianceApi.deleteAttestation(a.id); onChanged(); })}>
                        Withdraw
                      </Button>
                    )}
                  </Table.Td>
                </Table.Tr>
              );
            })}
          </Table.Tbody>
        </Table>
      </ScrollArea>
    </>
  );
}

// AttestationForm attests a control: statement, owner, expiry and an
// optional evidence file.
export function AttestationForm({ control, onCreated }: { control?: string; onCreated: () => void }) {
  const { me } = useAuth();
  const { busy, error, run } = useAction();
  const [ctl, setCtl] = useState(control ?? "");
  const [statement, setStatement] = useState("");
  const [owner, setOwner] = useState(me?.user.email ?? "");
  const [expires, setExpires] = useState(inDays(365));
  const [file, setFile] = useState<File | null>(null);
  const [progress, setProgress] = useState(0);
  const submit = () =>
    run(async () => {
      const form = new FormData();
      form.append("control", ctl.trim());
      form.append("statement", statement.trim());
      form.append("owner", owner.trim());
      form.append("expires_at", expiryFromDate(expires));
      if (file) form.append("file", file);
      await postForm<Attestation>("/api/v1/compliance/attestations", form, me?.csrf_token ?? "", setProgress);
      setStatement("");
      setFile(null);
      onCreated();
    });
  const ready = ctl.trim() !== "" && statement.trim() !== "" && /^\d{4}-\d{2}-\d{2}$/.test(expires);
  return (
    <form onSubmit={(e) => { e.preventDefault(); if (ready) void submit(); }} data-testid="attestation-form">
      <Stack gap="xs" mt="md">
        <Text fw={600} size="sm">Attest {control ? "this control" : "a control"}</Text>
        {!control && (
          <TextInput label="SCF control" description="Reference (GOV-02) or URN" value={ctl} onChange={(e) => setCtl(e.currentTarget.value)}
            required data-testid="attestation-control" />
        )}
        <Textarea label="Statement" placeholder="How the control is met, and where the proof is" autosize minRows={2} required
          value={statement} onChange={(e) => setStatement(e.currentTarget.value)} data-testid="attestation-statement" />
        <Group grow align="flex-start" wrap="wrap">
          <TextInput label="Owner" value={owner} onChange={(e) => setOwner(e.currentTarget.value)} miw={180} data-testid="attestation-owner" />
          <TextInput label="Expires" type="date" value={expires} onChange={(e) => setExpires(e.currentTarget.value)} required miw={160} data-testid="attestation-expires" />
          <FileInput label="Evidence file" placeholder="optional" value={file} onChange={setFile} clearable miw={180} data-testid="attestation-file" />
        </Group>
        <ErrorAlert error={error} />
        <Group>
          <Button type="submit" loading={busy} disabled={!ready} data-testid="attestation-submit">Attest</Button>
          {busy && file && <Text size="xs" c="dimmed">{Math.round(progress * 100)}% uploaded</Text>}
        </Group>
      </Stack>
    </form>
  );
}

export function ComplianceAttestationsPage() {
  const { can } = useAuth();
  const [list, setList] = useState<Attestation[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const load = useCallback(() => complianceApi.attestations().then((r) => { setList(r.attestations); setError(null); }, setError), []);
  useEffect(() => {
    void load();
  }, [load]);
  const expired = (list ?? []).filter((a) => isExpired(a)).length;
  return (
    <Stack>
      <Title order={2}>Attestations</Title>
      <Text size="sm" c="dimmed">
        Manual attestations stand for SCF controls no scanner can test. A valid one makes a control without scanner results passing;
        an expired one returns it to not assessed.
      </Text>
      <ErrorAlert error={error} />
      {expired > 0 && <Text c="red" size="sm" data-testid="attestations-expired-count">{expired} expired: renew or withdraw them.</Text>}
      <Card withBorder>
        {list && <AttestationTable list={list} onChanged={load} showControl />}
        {can("compliance:manage") && <AttestationForm onCreated={load} />}
      </Card>
    </Stack>
  );
}
