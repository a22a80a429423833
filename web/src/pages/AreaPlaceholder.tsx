import { Alert, Stack, Text, Title } from "@mantine/core";
import type { Area } from "../areas";

// Areas whose service has not landed yet say so plainly rather than
// pretending with sample data.
export function AreaPlaceholder({ area }: { area: Area }) {
  return (
    <Stack maw={720}>
      <Title order={2}>{area.label}</Title>
      <Text c="dimmed">{area.description}</Text>
      <Alert color="gray" title="Not available in this build">
        This area's service is not part of this release yet. The system status page shows what this server runs.
      </Alert>
    </Stack>
  );
}
