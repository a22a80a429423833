import { useCallback, useEffect, useState } from "react";
import {
  Alert, Anchor, Badge, Button, Checkbox, Code, Group, Modal, MultiSelect, NumberInput, PasswordInput, Select, Stack, Table, TagsInput, Text,
  Textarea, TextInput, Title, Tooltip,
} from "@mantine/core";
import { Link, useNavigate } from "react-router-dom";
import { api, type AccountParams, type CloudAccount, type Credentials, type Schedule } from "../api/client";
import { formatRelative } from "../format";
import { failuresHref, formatRate, rateColor } from "../posture";
import { runStatusColor } from "./ScanRunPage";
import { AWSOnboarding } from "./AWSOnboarding";
import { ErrorAlert } from "../components/ErrorAlert";
import { useAuth } from "../auth";
import { useAction } from "../useAction";
import { isMissing, useToolInventory, type ToolInventory } from "../tools";
import { MissingTools } from "../components/MissingTools";
import { EmptyState } from "../components/EmptyState";

const PROVIDERS = [
  { value: "aws", label: "AWS account" },
  { value: "gcp", label: "GCP project" },
  { value: "azure", label: "Azure subscription" },
];
const CRED_TYPES: Record<string, { value: Credentials["type"]; label: string }[]> = {
  aws: [
    { value: "assume_role", label: "Assume a role (recommended)" },
    { value: "access_keys", label: "Access keys" },
    { value: "worker_identity", label: "The worker's own identity" },
  ],
  gcp: [{ value: "service_account", label: "Service-account key" }],
  azure: [{ value: "client_secret", label: "Service principal secret" }],
};
const UID_LABEL: Record<string, string> = { aws: "Account ID (12 digits)", gcp: "Project ID", azure: "Subscription ID" };
const WEEKDAYS = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"];

// CredentialFields edits the credentials of one type. Secrets are write-only:
// the API never returns them, so the form starts empty.
function CredentialFields({ creds, set }: { creds: Credentials; set: (c: Credentials) => void }) {
  const field = (k: keyof Credentials) => ({ value: (creds[k] as string) ?? "", onChange: (e: { currentTarget: { value: string } }) => set({ ...creds, [k]: e.currentTarget.value }) });
  switch (creds.type) {
    case "access_keys":
      return (
        <>
          <TextInput label="Access key ID" required data-testid="cred-access-key-id" {...field("access_key_id")} />
          <PasswordInput label="Secret access key" required data-testid="cred-secret-access-key" {...field("secret_access_key")} />
          <PasswordInput label="Session token (optional)" {...field("session_token")} />
        </>
      );
    case "assume_role":
      return (
        <>
          <TextInput label="Role ARN" required placeholder="arn:aws:iam::111122223333:role/SecurityAudit" data-testid="cred-role-arn" {...field("role_arn")} />
          <Text size="xs" c="dimmed" data-testid="cred-external-id-note">
            The platform chooses the external ID for this account and shows it on the account once it is added:
            require it in the role&apos;s trust policy (sts:ExternalId), then test the connection.
          </Text>
        </>
      );
    case "service_account":
      return <Textarea label="Service-account key (JSON)" required autosize minRows={4} {...field("service_account_json")} />;
    case "client_secret":
      return (
        <>
          <TextInput label="Tenant ID" required {...field("tenant_id")} />
          <TextInput label="Client ID" required {...field("client_id")} />
          <PasswordInput label="Client secret" required {...field("client_secret")} />
        </>
      );
  }
  return <Text size="sm" c="dimmed">The workers' own identity (instance profile, workload identity, environment) is used.</Text>;
}

function AccountForm({ account, onDone }: { account?: CloudAccount; onDone: () => void }) {
  const [provider, setProvider] = useState<string>(account?.provider ?? "aws");
  const [uid, setUID] = useState(account?.account_uid ?? "");
  const [alias, setAlias] = useState(account?.alias ?? "");
  const [regions, setRegions] = useState<string[]>(account?.regions ?? []);
  const [replaceCreds, setReplaceCreds] = useState(!account);
  const [creds, setCreds] = useState<Credentials>({ type: CRED_TYPES[account?.provider ?? "aws"][0].value });
  const { busy, error, run } = useAction();
  const save = () =>
    run(async () => {
      if (account) {
        await api.updateCloudAccount(account.id, { alias, regions, credentials: replaceCreds ? creds : undefined });
      } else {
        const p: AccountParams = { provider: provider as AccountParams["provider"], account_uid: uid, alias, regions, credentials: creds };
        await api.createCloudAccount(p);
      }
      onDone();
    });
  return (
    <Stack>
      <ErrorAlert error={error} />
      <Select label="Provider" data={PROVIDERS} value={provider} disabled={!!account} allowDeselect={false}
        onChange={(v) => { setProvider(v ?? "aws"); setCreds({ type: CRED_TYPES[v ?? "aws"][0].value }); }} data-testid="account-provider" />
      <TextInput label={UID_LABEL[provider]} required value={uid} disabled={!!account} onChange={(e) => setUID(e.currentTarget.value)} data-testid="account-uid" />
      <TextInput label="Alias" value={alias} onChange={(e) => setAlias(e.currentTarget.value)} data-testid="account-alias" />
      {provider === "aws" && (
        <TagsInput label="Regions" description="Type a region and press Enter" value={regions} onChange={setRegions} data-testid="account-regions" />
      )}
      {account && <Checkbox label="Replace the stored credentials" checked={replaceCreds} onChange={(e) => setReplaceCreds(e.currentTarget.checked)} />}
      {replaceCreds && (
        <>
          <Select label="Credentials" data={CRED_TYPES[provider]} value={creds.type} allowDeselect={false}
            onChange={(v) => setCreds({ type: (v ?? CRED_TYPES[provider][0].value) as Credentials["type"] })} data-testid="account-cred-type" />
          <CredentialFields creds={creds} set={setCreds} />
          <Text size="xs" c="dimmed">Credentials are encrypted (AES-256-GCM) before they are stored and are never shown again.</Text>
        </>
      )}
      <Group justify="flex-end">
        <Button onClick={save} loading={busy} data-testid="account-save">{account ? "Save" : "Add account"}</Button>
      </Group>
    </Stack>
  );
}

// ScanForm starts a cloud scan. Scanners the workers do not have are
// disabled with how to install them, and an account whose last connection
// test failed cannot be scanned until a test passes (the API refuses both).
export function ScanForm({ account, onStarted, inventory }: { account: CloudAccount; onStarted: (id: string) => void; inventory?: ToolInventory }) {
  const loaded = useToolInventory();
  const inv = inventory ?? loaded;
  const [picked, setTools] = useState<string[]>(["prowler"]);
  const tools = picked.filter((t) => !isMissing(inv, t));
  const [regions, setRegions] = useState<string[]>(account.regions);
  const { busy, error, run } = useAction();
  const testFailed = account.last_test !== undefined && account.last_test !== null && !account.last_test.ok;
  const start = () =>
    run(async () => {
      const scan = await api.cloudScan(account.id, tools, account.provider === "aws" ? regions : []);
      onStarted(scan.id);
    });
  const label = (tool: string, text: string) => (isMissing(inv, tool) ? `${text} (not installed)` : text);
  return (
    <Stack>
      <ErrorAlert error={error} />
      {testFailed && (
        <Alert color="red" title="The last connection test failed" data-testid="scan-test-failed">
          <Text size="sm" style={{ overflowWrap: "anywhere" }}>{account.last_test?.detail}</Text>
          <Text size="sm">Fix the credentials or the network and test the connection again before scanning.</Text>
        </Alert>
      )}
      <Checkbox.Group label="Tools" value={tools} onChange={setTools}>
        <Group mt="xs">
          <Checkbox value="prowler" label={label("prowler", "Prowler")} disabled={isMissing(inv, "prowler")} data-testid="tool-prowler" />
          <Checkbox value="steampipe" label={label("steampipe", "Steampipe (Powerpipe benchmark)")} disabled={isMissing(inv, "steampipe")} data-testid="tool-steampipe" />
        </Group>
      </Checkbox.Group>
      <MissingTools inv={inv} tools={["prowler", "steampipe"]} />
      {account.provider === "aws" && <MultiSelect label="Regions" data={account.regions} value={regions} onChange={setRegions} />}
      <Text size="xs" c="dimmed">
        One SubJob per {account.provider === "aws" ? "region" : account.provider === "gcp" ? "project" : "subscription"} and tool.
      </Text>
      <Group justify="flex-end">
        <Button onClick={start} loading={busy} disabled={tools.length === 0 || testFailed} data-testid="scan-start">Start scan</Button>
      </Group>
    </Stack>
  );
}

function Schedules({ account, canManage }: { account: CloudAccount; canManage: boolean }) {
  const [list, setList] = useState<Schedule[]>([]);
  const [error, setError] = useState<unknown>(null);
  const [frequency, setFrequency] = useState("daily");
  const [weekday, setWeekday] = useState("1");
  const [hour, setHour] = useState<number>(2);
  const load = useCallback(() => api.schedules(account.id).then((r) => setList(r.schedules), setError), [account.id]);
  useEffect(() => { load(); }, [load]);
  const add = () =>
    api.createSchedule({ account_id: account.id, tools: ["prowler"], frequency: frequency as "daily" | "weekly", weekday: Number(weekday), hour })
      .then(load, setError);
  return (
    <Stack gap="xs" data-testid="schedules">
      <ErrorAlert error={error} />
      {list.length === 0 && <Text size="sm" c="dimmed">No schedule.</Text>}
      {list.map((s) => (
        <Group key={s.id} justify="space-between">
          <Text size="sm">
            {s.frequency === "weekly" ? `Every ${WEEKDAYS[s.weekday]}` : "Daily"} at {String(s.hour).padStart(2, "0")}:00 UTC · {s.tools.join(", ")}
            {" · next "}<span data-testid="schedule-next">{new Date(s.next_run_at).toLocaleString()}</span>
            {s.last_error && <Text span c="red" size="xs"> · last attempt: {s.last_error}</Text>}
          </Text>
          {canManage && <Button size="xs" variant="subtle" color="red" onClick={() => api.deleteSchedule(s.id).then(load, setError)}>Remove</Button>}
        </Group>
      ))}
      {canManage && (
        <Group align="flex-end">
          <Select label="Every" data={["daily", "weekly"]} value={frequency} onChange={(v) => setFrequency(v ?? "daily")} w={110} allowDeselect={false} />
          {frequency === "weekly" && <Select label="Day" data={WEEKDAYS.map((d, i) => ({ value: String(i), label: d }))} value={weekday} onChange={(v) => setWeekday(v ?? "1")} w={140} />}
          <NumberInput label="Hour (UTC)" min={0} max={23} value={hour} onChange={(v) => setHour(Number(v))} w={110} />
          <Button size="sm" variant="light" onClick={add} data-testid="schedule-add">Add schedule</Button>
        </Group>
      )}
    </Stack>
  );
}

export function CloudAccountsPage() {
  const { can } = useAuth();
  const navigate = useNavigate();
  const [accounts, setAccounts] = useState<CloudAccount[]>([]);
  const [error, setError] = useState<unknown>(null);
  const [adding, setAdding] = useState(false);
  const [editing, setEditing] = useState<CloudAccount | null>(null);
  const [scanning, setScanning] = useState<CloudAccount | null>(null);
  const [scheduling, setScheduling] = useState<CloudAccount | null>(null);
  const [testing, setTesting] = useState<string>("");
  const [onboarding, setOnboarding] = useState<CloudAccount | null>(null);
  const load = useCallback(() => api.cloudAccounts().then((r) => setAccounts(r.accounts), setError), []);
  useEffect(() => { load(); }, [load]);
  const manage = can("cloud_accounts:manage");
  const test = async (a: CloudAccount) => {
    setTesting(a.id);
    try {
      await api.testCloudAccount(a.id);
      await load();
    } catch (e) {
      setError(e);
    } finally {
      setTesting("");
    }
  };
  return (
    <Stack>
      <Group justify="space-between">
        <Title order={2}>Cloud accounts</Title>
        {manage && <Button onClick={() => setAdding(true)} data-testid="account-add">Add account</Button>}
      </Group>
      <ErrorAlert error={error} />
      {accounts.length === 0 && (
        <EmptyState title="No cloud account yet" testid="accounts-empty"
          steps={[{ label: "Import a report instead", to: "/import" }]}>
          {manage
            ? "Add an AWS account, GCP project or Azure subscription to scan it with Prowler or Steampipe. For AWS, choose \"Assume a role\": the platform then gives you a CloudFormation template and a Terraform snippet for a read-only role."
            : "An administrator or security manager adds the accounts to scan."}
        </EmptyState>
      )}
      {accounts.length > 0 && (
        <Table.ScrollContainer minWidth={1280}>
        <Table striped data-testid="accounts-table">
          <Table.Thead>
            <Table.Tr>
              <Table.Th>Account</Table.Th>
              <Table.Th>Provider</Table.Th>
              <Table.Th>Regions</Table.Th>
              <Table.Th>Credentials</Table.Th>
              <Table.Th>Connection</Table.Th>
              <Table.Th>Last scan</Table.Th>
              <Table.Th ta="right">Open failures</Table.Th>
              <Table.Th>Pass rate</Table.Th>
              <Table.Th>Next scan</Table.Th>
              <Table.Th />
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {accounts.map((a) => (
              <Table.Tr key={a.id} data-testid="account-row">
                <Table.Td>
                  <Text fw={500}>{a.alias || a.account_uid}</Text>
                  <Text size="xs" c="dimmed">{a.account_uid}</Text>
                </Table.Td>
                <Table.Td>{a.provider.toUpperCase()}</Table.Td>
                <Table.Td><Text size="sm">{a.regions.join(", ") || "–"}</Text></Table.Td>
                <Table.Td>
                  <Text size="sm">{a.credential_type.replace("_", " ")}</Text>
                  <Text size="xs" c="dimmed" style={{ overflowWrap: "anywhere" }}>{a.credential_hint}</Text>
                  {a.external_id && (
                    <Text size="xs" c="dimmed">External ID <Code data-testid="account-external-id">{a.external_id}</Code></Text>
                  )}
                </Table.Td>
                <Table.Td>
                  {a.last_test ? (
                    <Tooltip label={a.last_test.detail} multiline w={320}>
                      <Badge color={a.last_test.ok ? "green" : "red"} variant="light" data-testid="account-test-result">{a.last_test.ok ? "connected" : "refused"}</Badge>
                    </Tooltip>
                  ) : <Text size="xs" c="dimmed">not tested</Text>}
                  {a.provider === "aws" && a.credential_type === "assume_role" && (
                    <Anchor component="button" size="xs" display="block" onClick={() => setOnboarding(a)} data-testid="account-onboarding">Set up the role</Anchor>
                  )}
                </Table.Td>
                <Table.Td data-testid="account-last-scan">
                  {a.status?.last_scan_id ? (
                    <Group gap={6} wrap="nowrap">
                      <Badge color={runStatusColor[a.status.last_scan_status ?? ""] ?? "gray"} variant="light" component={Link} to={`/scans/${a.status.last_scan_id}`}
                        style={{ cursor: "pointer" }}>{a.status.last_scan_status}</Badge>
                      <Tooltip label={a.status.last_scan_at ? new Date(a.status.last_scan_at).toLocaleString() : ""}>
                        <Text size="xs" c="dimmed">{formatRelative(a.status.last_scan_at)}</Text>
                      </Tooltip>
                    </Group>
                  ) : <Text size="xs" c="dimmed">never scanned</Text>}
                </Table.Td>
                <Table.Td ta="right">
                  <Anchor component={Link} to={failuresHref({ provider: a.provider, account: a.account_uid })} size="sm"
                    fw={a.status?.failed ? 700 : undefined} c={a.status?.failed ? "red.7" : undefined} data-testid="account-failed">{a.status?.failed ?? 0}</Anchor>
                </Table.Td>
                <Table.Td>
                  <Text size="sm" c={rateColor(a.status?.pass_rate)} fw={600} data-testid="account-pass-rate">{formatRate(a.status?.pass_rate)}</Text>
                </Table.Td>
                <Table.Td data-testid="account-next-scan">
                  {a.status?.next_scan_at ? (
                    <Tooltip label={new Date(a.status.next_scan_at).toLocaleString()}><Text size="sm">{formatRelative(a.status.next_scan_at)}</Text></Tooltip>
                  ) : <Text size="xs" c="dimmed">not scheduled</Text>}
                </Table.Td>
                <Table.Td>
                  <Group gap={4} justify="flex-end" wrap="nowrap">
                    {can("scans:run") && <Button size="xs" onClick={() => setScanning(a)} data-testid="account-scan">Scan</Button>}
                    {manage && <Button size="xs" variant="light" loading={testing === a.id} onClick={() => test(a)} data-testid="account-test">Test</Button>}
                    <Button size="xs" variant="light" onClick={() => setScheduling(a)} data-testid="account-schedules">Schedules</Button>
                    {manage && <Button size="xs" variant="subtle" onClick={() => setEditing(a)}>Edit</Button>}
                    {manage && (
                      <Button size="xs" variant="subtle" color="red"
                        onClick={() => window.confirm(`Remove ${a.alias || a.account_uid} and its credentials? Its findings stay.`) && api.deleteCloudAccount(a.id).then(load, setError)}>
                        Remove
                      </Button>
                    )}
                  </Group>
                </Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
        </Table.ScrollContainer>
      )}
      <Modal opened={adding} onClose={() => setAdding(false)} title="Add a cloud account" size="lg">
        <AccountForm onDone={() => { setAdding(false); load(); }} />
      </Modal>
      <Modal opened={!!editing} onClose={() => setEditing(null)} title={`Edit ${editing?.alias || editing?.account_uid}`} size="lg">
        {editing && <AccountForm account={editing} onDone={() => { setEditing(null); load(); }} />}
      </Modal>
      <Modal opened={!!scanning} onClose={() => setScanning(null)} title={`Scan ${scanning?.alias || scanning?.account_uid}`}>
        {scanning && <ScanForm account={scanning} onStarted={(id) => navigate(`/scans/${id}`)} />}
      </Modal>
      <Modal opened={!!onboarding} onClose={() => setOnboarding(null)} title={`A read-only role in ${onboarding?.alias || onboarding?.account_uid}`} size="xl">
        {onboarding && <AWSOnboarding account={onboarding} />}
      </Modal>
      <Modal opened={!!scheduling} onClose={() => setScheduling(null)} title={`Schedules of ${scheduling?.alias || scheduling?.account_uid}`} size="lg">
        {scheduling && <Schedules account={scheduling} canManage={can("scans:run")} />}
      </Modal>
    </Stack>
  );
}
