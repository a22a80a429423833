import { useCallback, useEffect, useState } from "react";
import { Alert, Badge, Button, Card, Code, Group, Image, NumberInput, PasswordInput, SimpleGrid, Stack, Table, Text, TextInput, Title } from "@mantine/core";
import { api, type APIToken, type MFAEnrollment, type Session } from "../api/client";
import { useAuth } from "../auth";
import { ErrorAlert } from "../components/ErrorAlert";

export function AccountPage() {
  const { me } = useAuth();
  if (!me) return null;
  return (
    <Stack maw={960}>
      <Title order={2}>Your account</Title>
      <Text c="dimmed">
        {me.user.email} · {me.role} · team {me.team.name}
      </Text>
      {me.password_change_required && (
        <Alert color="yellow" title="Choose your own password" data-testid="password-change-required">
          You signed in with a one-time password. Replace it below to use the platform.
        </Alert>
      )}
      {me.mfa_enrollment_required && (
        <Alert color="yellow" title="Multi-factor authentication required">
          Your team requires MFA. Enrol an authenticator app below to use the platform.
        </Alert>
      )}
      <SimpleGrid cols={{ base: 1, md: 2 }}>
        <PasswordCard />
        <MFACard />
      </SimpleGrid>
      <SessionsCard />
      <TokensCard />
    </Stack>
  );
}

function PasswordCard() {
  const { refresh } = useAuth();
  const [current, setCurrent] = useState("");
  const [next, setNext] = useState("");
  const [done, setDone] = useState(false);
  const [error, setError] = useState<unknown>(null);
  async function submit(e: React.FormEvent) {
    e.preventDefault();
    setError(null);
    setDone(false);
    try {
      await api.changePassword(current, next);
      setDone(true);
      setCurrent("");
      setNext("");
      await refresh(); // a one-time password's restrictions end here
    } catch (err) {
      setError(err);
    }
  }
  return (
    <Card withBorder>
      <form onSubmit={submit}>
        <Stack>
          <Title order={4}>Password</Title>
          <ErrorAlert error={error} />
          {done && <Alert color="green">Password changed. Your other sessions were signed out.</Alert>}
          <PasswordInput label="Current password" required value={current} onChange={(e) => setCurrent(e.currentTarget.value)} data-testid="password-current" />
          <PasswordInput label="New password" description="At least 12 characters, not your email, not a common password." required value={next} onChange={(e) => setNext(e.currentTarget.value)} data-testid="password-new" />
          <Button type="submit" data-testid="password-submit">Change password</Button>
        </Stack>
      </form>
    </Card>
  );
}

function MFACard() {
  const { me, refresh } = useAuth();
  const [enrolment, setEnrolment] = useState<MFAEnrollment | null>(null);
  const [code, setCode] = useState("");
  const [codes, setCodes] = useState<string[] | null>(null);
  const [password, setPassword] = useState("");
  const [error, setError] = useState<unknown>(null);
  const enabled = me?.user.mfa_enabled;
  const run = async (fn: () => Promise<void>) => {
    setError(null);
    try {
      await fn();
    } catch (err) {
      setError(err);
    }
  };
  return (
    <Card withBorder>
      <Stack>
        <Group justify="space-between">
          <Title order={4}>Multi-factor authentication</Title>
          <Badge color={enabled ? "green" : "gray"}>{enabled ? "on" : "off"}</Badge>
        </Group>
        <ErrorAlert error={error} />
        {codes && (
          <Alert color="green" title="Save these recovery codes now">
            <Text size="sm">Each works once if you lose your device. They are not shown again.</Text>
            <Code block data-testid="recovery-codes">{codes.join("\n")}</Code>
          </Alert>
        )}
        {!enabled && !enrolment && <Button onClick={() => run(async () => setEnrolment(await api.mfaEnroll()))}>Set up an authenticator app</Button>}
        {!enabled && enrolment && (
          <Stack>
            <Text size="sm">Scan the code with your authenticator app, or type the secret, then enter the 6-digit code it shows.</Text>
            <Image src={enrolment.qr_code_png} alt="TOTP QR code" w={200} h={200} />
            <Code>{enrolment.secret}</Code>
            <TextInput label="Code" inputMode="numeric" value={code} onChange={(e) => setCode(e.currentTarget.value)} />
            <Button
              onClick={() =>
                run(async () => {
                  const res = await api.mfaConfirm(code);
                  setCodes(res.recovery_codes);
                  setEnrolment(null);
                  await refresh();
                })
              }
            >
              Turn on MFA
            </Button>
          </Stack>
        )}
        {enabled && (
          <Stack>
            <PasswordInput label="Password, to turn MFA off" value={password} onChange={(e) => setPassword(e.currentTarget.value)} />
            <Button color="red" variant="light" onClick={() => run(async () => { await api.mfaDisable(password); setPassword(""); setCodes(null); await refresh(); })}>
              Turn off MFA
            </Button>
          </Stack>
        )}
      </Stack>
    </Card>
  );
}

function SessionsCard() {
  const [sessions, setSessions] = useState<Session[]>([]);
  const [current, setCurrent] = useState<string | undefined>();
  const [error, setError] = useState<unknown>(null);
  const load = useCallback(async () => {
    try {
      const res = await api.sessions();
      setSessions(res.sessions);
      setCurrent(res.current);
    } catch (err) {
      setError(err);
    }
  }, []);
  useEffect(() => {
    void load();
  }, [load]);
  return (
    <Card withBorder>
      <Title order={4} mb="sm">Sessions</Title>
      <ErrorAlert error={error} />
      <Table>
        <Table.Thead>
          <Table.Tr>
            <Table.Th>Signed in</Table.Th>
            <Table.Th>Last active</Table.Th>
            <Table.Th>From</Table.Th>
            <Table.Th />
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {sessions.map((s) => (
            <Table.Tr key={s.id}>
              <Table.Td>{new Date(s.created_at).toLocaleString()}</Table.Td>
              <Table.Td>{new Date(s.last_seen_at).toLocaleString()}</Table.Td>
              <Table.Td>
                <Text size="sm">{s.ip}</Text>
                <Text size="xs" c="dimmed" lineClamp={1}>{s.user_agent}</Text>
              </Table.Td>
              <Table.Td>
                {s.id === current ? (
                  <Badge variant="light">this session</Badge>
                ) : (
                  <Button size="xs" variant="light" color="red" onClick={async () => { await api.revokeSession(s.id); await load(); }}>
                    Sign out
                  </Button>
                )}
              </Table.Td>
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
    </Card>
  );
}

function TokensCard() {
  const [tokens, setTokens] = useState<APIToken[]>([]);
  const [name, setName] = useState("");
  const [days, setDays] = useState<number | string>(90);
  const [secret, setSecret] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const load = useCallback(async () => {
    try {
      setTokens((await api.tokens()).tokens);
    } catch (err) {
      setError(err);
    }
  }, []);
  useEffect(() => {
    void load();
  }, [load]);
  async function create(e: React.FormEvent) {
    e.preventDefault();
    setError(null);
    try {
      const res = await api.createToken(name, Number(days));
      setSecret(res.secret);
      setName("");
      await load();
    } catch (err) {
      setError(err);
    }
  }
  return (
    <Card withBorder>
      <Title order={4} mb="sm">API tokens</Title>
      <ErrorAlert error={error} />
      {secret && (
        <Alert color="green" title="Copy the token now" mb="sm">
          <Text size="sm">Send it as <Code>Authorization: Bearer …</Code>. It is not shown again.</Text>
          <Code block>{secret}</Code>
        </Alert>
      )}
      <form onSubmit={create}>
        <Group align="end" mb="sm">
          <TextInput label="Name" required value={name} onChange={(e) => setName(e.currentTarget.value)} />
          <NumberInput label="Expires in (days)" min={1} max={366} value={days} onChange={setDays} w={160} />
          <Button type="submit">Create token</Button>
        </Group>
      </form>
      <Table>
        <Table.Thead>
          <Table.Tr>
            <Table.Th>Name</Table.Th>
            <Table.Th>Expires</Table.Th>
            <Table.Th>Last used</Table.Th>
            <Table.Th />
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {tokens.map((t) => (
            <Table.Tr key={t.id}>
              <Table.Td>{t.name}</Table.Td>
              <Table.Td>{new Date(t.expires_at).toLocaleDateString()}</Table.Td>
              <Table.Td>{t.last_used_at ? new Date(t.last_used_at).toLocaleString() : "never"}</Table.Td>
              <Table.Td>
                {t.revoked_at ? (
                  <Badge color="gray">revoked</Badge>
                ) : (
                  <Button size="xs" variant="light" color="red" onClick={async () => { await api.revokeToken(t.id); await load(); }}>
                    Revoke
                  </Button>
                )}
              </Table.Td>
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
    </Card>
  );
}
