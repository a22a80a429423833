import { Alert, Stack, Text } from "@mantine/core";
import { installHint, missingOf, type ToolInventory } from "../tools";

// MissingTools says which tools of a form are not installed where scans
// run, and how to install them.
export function MissingTools({ inv, tools }: { inv: ToolInventory; tools: string[] }) {
  const missing = missingOf(inv, tools);
  if (inv.workersElsewhere) {
    return <Text size="xs" c="dimmed" data-testid="tools-unchecked">Workers run in other processes: the API checks the scanners they report when you start the scan (cspm doctor on each worker machine lists them).</Text>;
  }
  if (missing.length === 0) return null;
  return (
    <Alert color="yellow" title={missing.length === 1 ? "A scanner is not installed" : "Scanners are not installed"} data-testid="tools-missing">
      <Stack gap={4}>
        {missing.map((t) => <Text size="sm" key={t.name} data-testid={`tool-missing-${t.name}`} style={{ overflowWrap: "anywhere" }}>{installHint(t)}</Text>)}
      </Stack>
    </Alert>
  );
}
