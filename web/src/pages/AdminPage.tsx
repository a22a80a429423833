import { useCallback, useEffect, useState } from "react";
import { Alert, Badge, Button, Card, Code, Group, Select, Stack, Switch, Table, Tabs, Text, TextInput, Title } from "@mantine/core";
import { api, ROLES, type Role, type Team, type User } from "../api/client";
import { useAuth } from "../auth";
import { ErrorAlert, NoAccess } from "../components/ErrorAlert";
import { AuditLog } from "./AuditLog";

export function AdminPage() {
  const { can } = useAuth();
  if (!can("users:read") && !can("audit:read")) return <NoAccess />;
  return (
    <Stack>
      <Title order={2}>Administration</Title>
      <Tabs defaultValue={can("users:read") ? "users" : "audit"} keepMounted={false}>
        <Tabs.List>
          {can("users:read") && <Tabs.Tab value="users" data-testid="tab-users">Users</Tabs.Tab>}
          {can("team:manage") && <Tabs.Tab value="team" data-testid="tab-team">Team settings</Tabs.Tab>}
          {can("audit:read") && <Tabs.Tab value="audit" data-testid="tab-audit">Audit log</Tabs.Tab>}
        </Tabs.List>
        <Tabs.Panel value="users" pt="md"><UsersPanel /></Tabs.Panel>
        <Tabs.Panel value="team" pt="md"><TeamPanel /></Tabs.Panel>
        <Tabs.Panel value="audit" pt="md"><AuditLog /></Tabs.Panel>
      </Tabs>
    </Stack>
  );
}

function UsersPanel() {
  const { me, can } = useAuth();
  const manage = can("users:manage");
  const [users, setUsers] = useState<User[]>([]);
  const [error, setError] = useState<unknown>(null);
  const [notice, setNotice] = useState<{ title: string; body: string } | null>(null);
  const [email, setEmail] = useState("");
  const [role, setRole] = useState<Role>("VIEWER");

  const load = useCallback(async () => {
    try {
      setUsers((await api.users()).users);
    } catch (err) {
      setError(err);
    }
  }, []);
  useEffect(() => {
    void load();
  }, [load]);
  const act = async (fn: () => Promise<void>) => {
    setError(null);
    try {
      await fn();
      await load();
    } catch (err) {
      setError(err);
    }
  };

  return (
    <Stack>
      <ErrorAlert error={error} />
      {notice && (
        <Alert color="green" title={notice.title} withCloseButton onClose={() => setNotice(null)}>
          <Code block>{notice.body}</Code>
        </Alert>
      )}
      {manage && (
        <Card withBorder>
          <form
            onSubmit={(e) => {
              e.preventDefault();
              void act(async () => {
                const res = await api.createUser(email, role);
                setNotice({ title: `Created ${res.user.email}: give them this one-time password`, body: res.one_time_password ?? "" });
                setEmail("");
              });
            }}
          >
            <Group align="end">
              <TextInput label="Email" type="email" required value={email} onChange={(e) => setEmail(e.currentTarget.value)} w={280} maw="100%" />
              <Select label="Role" data={ROLES} value={role} onChange={(v) => v && setRole(v as Role)} allowDeselect={false} w={220} />
              <Button type="submit">Add user</Button>
            </Group>
          </form>
        </Card>
      )}
      <Table.ScrollContainer minWidth={640}>
      <Table striped data-testid="users-table">
        <Table.Thead>
          <Table.Tr>
            <Table.Th>Email</Table.Th>
            <Table.Th>Role</Table.Th>
            <Table.Th>MFA</Table.Th>
            <Table.Th>Enabled</Table.Th>
            {manage && <Table.Th>Actions</Table.Th>}
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {users.map((u) => {
            const self = u.id === me?.user.id;
            return (
              <Table.Tr key={u.id}>
                <Table.Td>{u.email}{self && <Badge ml="xs" variant="light">you</Badge>}</Table.Td>
                <Table.Td>
                  {manage && !self ? (
                    <Select size="xs" data={ROLES} value={u.role} allowDeselect={false} aria-label={`Role of ${u.email}`}
                      onChange={(v) => v && act(async () => { await api.updateUser(u.id, { role: v as Role }); })} />
                  ) : (
                    <Text size="sm">{u.role}</Text>
                  )}
                </Table.Td>
                <Table.Td><Badge color={u.mfa_enabled ? "green" : "gray"} variant="light">{u.mfa_enabled ? "on" : "off"}</Badge></Table.Td>
                <Table.Td>
                  <Switch checked={!u.disabled} disabled={!manage || self} aria-label={`Enable ${u.email}`}
                    onChange={(e) => { const enable = e.currentTarget.checked; void act(async () => { await api.updateUser(u.id, { disabled: !enable }); }); }} />
                </Table.Td>
                {manage && (
                  <Table.Td>
                    <Group gap="xs">
                      <Button size="xs" variant="light" onClick={() => act(async () => {
                        const res = await api.resetPassword(u.id);
                        setNotice({ title: `New one-time password for ${u.email} (their sessions were ended)`, body: res.one_time_password });
                      })}>Reset password</Button>
                      <Button size="xs" variant="light" color="red" onClick={() => act(async () => {
                        const res = await api.revokeUserSessions(u.id);
                        setNotice({ title: `Signed ${u.email} out`, body: `${res.revoked} session(s) ended` });
                      })}>Sign out everywhere</Button>
                    </Group>
                  </Table.Td>
                )}
              </Table.Tr>
            );
          })}
        </Table.Tbody>
      </Table>
      </Table.ScrollContainer>
    </Stack>
  );
}

function TeamPanel() {
  const [team, setTeam] = useState<Team | null>(null);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    api.team().then(setTeam, setError);
  }, []);
  if (!team) return <ErrorAlert error={error} />;
  return (
    <Card withBorder maw={560} data-testid="team-settings">
      <Stack>
        <ErrorAlert error={error} />
        <Text fw={600}>{team.name}</Text>
        <Switch
          label="Require multi-factor authentication for every member"
          description="Members without MFA can only reach their account page until they enrol."
          checked={team.require_mfa}
          onChange={(e) => {
            const v = e.currentTarget.checked;
            api.updateTeam(v).then(setTeam, setError);
          }}
        />
      </Stack>
    </Card>
  );
}
