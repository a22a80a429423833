import { useEffect, useState } from "react";
import { Button, Code, CopyButton, Group, List, Stack, Tabs, Text } from "@mantine/core";
import { api, type CloudAccount, type Onboarding } from "../api/client";
import { ErrorAlert } from "../components/ErrorAlert";

// download saves text as a file in the browser.
function download(name: string, text: string) {
  const url = URL.createObjectURL(new Blob([text], { type: "text/plain" }));
  const a = document.createElement("a");
  a.href = url;
  a.download = name;
  a.click();
  URL.revokeObjectURL(url);
}

function Template({ name, text, testid }: { name: string; text: string; testid: string }) {
  return (
    <Stack gap="xs">
      <Group gap="xs">
        <CopyButton value={text}>
          {({ copied, copy }) => <Button size="xs" variant="light" onClick={copy}>{copied ? "Copied" : "Copy"}</Button>}
        </CopyButton>
        <Button size="xs" variant="subtle" onClick={() => download(name, text)}>Download {name}</Button>
      </Group>
      <Code block mah={360} style={{ overflow: "auto" }} data-testid={testid}>{text}</Code>
    </Stack>
  );
}

// AWSOnboarding shows the role an AWS account's owner deploys so that the
// platform can scan it: CloudFormation or Terraform, with the account's
// external ID already in the trust policy.
export function AWSOnboarding({ account }: { account: CloudAccount }) {
  const [kit, setKit] = useState<Onboarding | null>(null);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    api.cloudAccountOnboarding(account.id).then(setKit, setError);
  }, [account.id]);
  if (!kit) return <ErrorAlert error={error} />;
  return (
    <Stack data-testid="onboarding">
      <List size="sm" type="ordered" spacing={4}>
        <List.Item>Deploy one of the templates below in account {account.account_uid}. Its one input is the ARN of the role or user the
          platform&apos;s workers run as.</List.Item>
        <List.Item>It creates <Code>{kit.role_name}</Code> with AWS&apos;s SecurityAudit and ViewOnlyAccess policies and the read-only
          additions Prowler documents, trusting that principal only with the external ID <Code data-testid="onboarding-external-id">{kit.external_id}</Code>.</List.Item>
        <List.Item>Set the account&apos;s role ARN to <Code>{kit.role_arn}</Code> (Edit), then Test the connection.</List.Item>
      </List>
      <Tabs defaultValue="cloudformation">
        <Tabs.List>
          <Tabs.Tab value="cloudformation">CloudFormation</Tabs.Tab>
          <Tabs.Tab value="terraform">Terraform</Tabs.Tab>
        </Tabs.List>
        <Tabs.Panel value="cloudformation" pt="sm">
          <Template name="cspm-scan-role.yaml" text={kit.cloudformation} testid="onboarding-cloudformation" />
        </Tabs.Panel>
        <Tabs.Panel value="terraform" pt="sm">
          <Template name="cspm-scan-role.tf" text={kit.terraform} testid="onboarding-terraform" />
        </Tabs.Panel>
      </Tabs>
      <Text size="xs" c="dimmed">Nothing in these templates can write to the account: every action reads, describes or lists.</Text>
    </Stack>
  );
}
