import { useCallback, useEffect, useState } from "react";
import { Alert, Button, Code, Group, Modal, PasswordInput, Select, Stack, Switch, Table, Text, TextInput } from "@mantine/core";
import { ErrorAlert } from "../components/ErrorAlert";
import { EmptyState } from "../components/EmptyState";
import { useAction } from "../useAction";
import { jiraWebhookURL, tickets, type Integration, type IntegrationInput } from "../integrations";

// TicketsPanel lists the team's Jira and GitHub integrations; an ADMIN adds
// and deletes them, and sees once the webhook to configure on the other side.
export function TicketsPanel({ manage }: { manage: boolean }) {
  const [list, setList] = useState<Integration[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [adding, setAdding] = useState(false);
  const [created, setCreated] = useState<{ it: Integration; secret: string } | null>(null);
  const action = useAction();
  const load = useCallback(() => {
    tickets.integrations().then((r) => setList(r.integrations), setError);
  }, []);
  useEffect(load, [load]);
  return (
    <Stack>
      <ErrorAlert error={error ?? action.error} />
      {created && (
        <Alert color="blue" title="Configure the webhook" withCloseButton onClose={() => setCreated(null)} data-testid="ticket-webhook">
          {created.it.kind === "jira" ? (
            <Text size="sm">In Jira (System, WebHooks), add a webhook for "Issue updated" to this URL. It holds the secret: it is not shown again.</Text>
          ) : (
            <Text size="sm">In the repository's Settings, Webhooks, add this payload URL (JSON) with the secret below, for "Issues" events.</Text>
          )}
          <Code block mt="xs">{created.it.kind === "jira" ? jiraWebhookURL(created.it, created.secret) : created.it.webhook_url}</Code>
          {created.it.kind === "github" && created.secret && <Code block mt="xs">{created.secret}</Code>}
        </Alert>
      )}
      {manage && <Group><Button onClick={() => setAdding(true)} data-testid="integration-add">Add ticket system</Button></Group>}
      {list && list.length === 0 && (
        <EmptyState title="No ticket systems" steps={[]}>Connect Jira or GitHub Issues to send findings and vulnerabilities as tickets.</EmptyState>
      )}
      {list && list.length > 0 && (
        <Table.ScrollContainer minWidth={700}>
          <Table striped data-testid="integrations-table">
            <Table.Thead>
              <Table.Tr><Table.Th>Name</Table.Th><Table.Th>System</Table.Th><Table.Th>Project</Table.Th><Table.Th>Done closes</Table.Th><Table.Th /></Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {list.map((it) => (
                <Table.Tr key={it.id}>
                  <Table.Td><Text size="sm" fw={600}>{it.name}</Text><Text size="xs" c="dimmed">{it.base_url}</Text></Table.Td>
                  <Table.Td>{it.kind === "jira" ? "Jira" : "GitHub Issues"}</Table.Td>
                  <Table.Td>{it.project}{it.issue_type ? ` (${it.issue_type})` : ""}</Table.Td>
                  <Table.Td>{it.close_on_done ? "yes" : "no"}</Table.Td>
                  <Table.Td>
                    {manage && (
                      <Button size="xs" color="red" variant="light"
                        onClick={() => {
                          if (window.confirm(`Delete "${it.name}"? Its tickets stay in ${it.kind === "jira" ? "Jira" : "GitHub"}.`)) {
                            action.run(async () => { await tickets.removeIntegration(it.id); load(); });
                          }
                        }}>Delete</Button>
                    )}
                  </Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        </Table.ScrollContainer>
      )}
      <IntegrationModal opened={adding} onClose={() => setAdding(false)}
        onSaved={(it, secret) => { setAdding(false); setCreated({ it, secret }); load(); }} />
    </Stack>
  );
}

function IntegrationModal({ opened, onClose, onSaved }: { opened: boolean; onClose: () => void; onSaved: (it: Integration, secret: string) => void }) {
  const [v, setV] = useState<IntegrationInput>({ kind: "jira", name: "", project: "" });
  const action = useAction();
  const set = (k: keyof IntegrationInput) => (e: React.ChangeEvent<HTMLInputElement>) => setV({ ...v, [k]: e.currentTarget.value });
  const save = () =>
    action.run(async () => {
      const it = await tickets.createIntegration(v);
      onSaved(it, it.webhook_secret ?? v.webhook_secret ?? "");
      setV({ kind: "jira", name: "", project: "" });
    });
  const jira = v.kind === "jira";
  return (
    <Modal opened={opened} onClose={onClose} title="Add a ticket system" size="lg">
      <Stack>
        <ErrorAlert error={action.error} />
        <Select label="System" value={v.kind} allowDeselect={false} onChange={(k) => k && setV({ ...v, kind: k as IntegrationInput["kind"] })}
          data={[{ value: "jira", label: "Jira Cloud or Data Center" }, { value: "github", label: "GitHub Issues" }]} data-testid="integration-kind" />
        <TextInput label="Name" value={v.name} onChange={set("name")} required data-testid="integration-name" />
        <TextInput label={jira ? "Jira URL" : "API URL"} placeholder={jira ? "https://your-site.atlassian.net" : "https://api.github.com"}
          value={v.base_url ?? ""} onChange={set("base_url")} data-testid="integration-url" />
        <Group grow>
          <TextInput label={jira ? "Project key" : "Repository (owner/repo)"} value={v.project} onChange={set("project")} required data-testid="integration-project" />
          {jira && <TextInput label="Issue type" placeholder="Task" value={v.issue_type ?? ""} onChange={set("issue_type")} />}
        </Group>
        {jira && (
          <TextInput label="Account email" description="Jira Cloud, with an API token. Leave empty for a Data Center personal access token."
            value={v.username ?? ""} onChange={set("username")} />
        )}
        <PasswordInput label={jira ? "API token or personal access token" : "Token (issues: write)"} value={v.token ?? ""} onChange={set("token")}
          required data-testid="integration-token" />
        <PasswordInput label="Webhook secret" description="Optional: generated and shown once when empty." value={v.webhook_secret ?? ""} onChange={set("webhook_secret")} />
        <Switch label="A done ticket closes its finding or vulnerability (mutes the finding, accepts the vulnerability's occurrences)"
          checked={v.close_on_done ?? false} onChange={(e) => setV({ ...v, close_on_done: e.currentTarget.checked })} />
        <Group justify="flex-end">
          <Button variant="default" onClick={onClose}>Cancel</Button>
          <Button onClick={save} loading={action.busy} data-testid="integration-save">Save</Button>
        </Group>
      </Stack>
    </Modal>
  );
}
