import type { ReactNode } from "react";
import { Button, Card, Group, Stack, Text, Title } from "@mantine/core";
import { Link } from "react-router-dom";

export interface NextStep {
  label: string;
  to: string;
  primary?: boolean;
}

// EmptyState tells a person what to do when a page has nothing to show yet.
export function EmptyState({ title, children, steps, testid = "empty-state" }: { title: string; children?: ReactNode; steps: NextStep[]; testid?: string }) {
  return (
    <Card withBorder padding="lg" data-testid={testid}>
      <Stack gap="xs">
        <Title order={4}>{title}</Title>
        {children && <Text size="sm" c="dimmed">{children}</Text>}
        {steps.length > 0 && (
          <Group gap="xs" mt="xs">
            {steps.map((s) => (
              <Button key={s.to + s.label} component={Link} to={s.to} size="xs" variant={s.primary ? "filled" : "light"}>
                {s.label}
              </Button>
            ))}
          </Group>
        )}
      </Stack>
    </Card>
  );
}

// firstSteps lists the ways to get findings in that the user's role
// allows, most direct first.
export function firstSteps(can: (permission: string) => boolean): NextStep[] {
  const steps: NextStep[] = [];
  if (can("findings:import")) steps.push({ label: "Import a report", to: "/import", primary: true });
  if (can("cloud_accounts:manage")) steps.push({ label: "Add a cloud account", to: "/cloud-accounts" });
  if (can("scans:run")) steps.push({ label: "Start a scan", to: "/scans?new=1" });
  return steps;
}
