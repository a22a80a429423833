import { useState } from "react";
import { Alert, Badge, Button, Card, Code, Collapse, FileInput, Group, List, Progress, ScrollArea, Stack, Table, Text, Title } from "@mantine/core";
import { useAuth } from "../auth";
import { useAction } from "../useAction";
import { NoAccess } from "../components/ErrorAlert";
import { importPath, postForm, type ContentImportResult, type ImportItem } from "../compliance";

const KIND_LABEL: Record<string, string> = { scf: "SCF workbook", framework: "Framework", mapping_set: "Mapping set", check_map: "Check map" };
const OUTCOME_COLOR: Record<string, string> = { created: "green", updated: "blue", unchanged: "gray" };

function DiffList({ title, ids }: { title: string; ids: string[] }) {
  const [open, setOpen] = useState(false);
  if (ids.length === 0) return <Text size="xs">{title}: 0</Text>;
  return (
    <div>
      <Button size="compact-xs" variant="subtle" onClick={() => setOpen(!open)}>{title}: {ids.length}</Button>
      <Collapse expanded={open}>
        <Text size="xs" style={{ overflowWrap: "anywhere" }}>{ids.join(", ")}</Text>
      </Collapse>
    </div>
  );
}

function ItemRows({ it }: { it: ImportItem }) {
  return (
    <>
      <Table.Tr data-testid="import-item">
        <Table.Td><Badge variant="light" miw="max-content">{KIND_LABEL[it.kind] ?? it.kind}</Badge></Table.Td>
        <Table.Td style={{ overflowWrap: "anywhere" }}>
          <Text size="sm" fw={500}>{it.name}</Text>
          <Text size="xs" c="dimmed">{it.urn}</Text>
        </Table.Td>
        <Table.Td>{it.version}</Table.Td>
        <Table.Td><Badge color={OUTCOME_COLOR[it.outcome] ?? "gray"} miw="max-content" data-testid="import-outcome">{it.outcome}</Badge></Table.Td>
        <Table.Td ta="right">{it.nodes}</Table.Td>
        <Table.Td ta="right">{it.assessable}</Table.Td>
        <Table.Td ta="right">{it.domains}</Table.Td>
        <Table.Td ta="right">{it.mappings}{it.checks ? ` (${it.checks} checks)` : ""}</Table.Td>
      </Table.Tr>
      {it.diff && (
        <Table.Tr>
          <Table.Td colSpan={8}>
            <Text size="xs" fw={600}>Compared with SCF {it.previous_version || "the previous version"}:</Text>
            <Group gap="md" data-testid="import-diff">
              <DiffList title="Added" ids={it.diff.added} />
              <DiffList title="Removed" ids={it.diff.removed} />
              <DiffList title="Changed" ids={it.diff.changed} />
            </Group>
          </Table.Td>
        </Table.Tr>
      )}
    </>
  );
}

interface Done {
  file: string;
  result: ContentImportResult;
}

export function ComplianceImportsPage() {
  const { can, me } = useAuth();
  const { busy, error, run } = useAction();
  const [file, setFile] = useState<File | null>(null);
  const [progress, setProgress] = useState(0);
  const [done, setDone] = useState<Done[]>([]);
  if (!can("compliance:manage")) return <NoAccess />;
  const submit = () =>
    run(async () => {
      if (!file) return;
      setProgress(0);
      const form = new FormData();
      form.append("file", file);
      const result = await postForm<ContentImportResult>(importPath(file.name), form, me?.csrf_token ?? "", setProgress);
      setDone((d) => [{ file: file.name, result }, ...d]);
      setFile(null);
    });
  return (
    <Stack>
      <Title order={2}>Import compliance content</Title>
      <Card withBorder>
        <Stack gap="xs">
          <Text size="sm">Load content shared by every team. Each file loads in one transaction; the same content again changes nothing.</Text>
          <List size="sm">
            <List.Item>The official <b>SCF workbook</b> (.xlsx, e.g. SCF 2022.2): controls, domains and every crosswalk. A new version lands beside the old one, with a diff.</List.Item>
            <List.Item>A <b>framework library</b> (CISO Assistant YAML): a framework, or a mapping set between frameworks. Load the frameworks before the mapping set.</List.Item>
            <List.Item>A <b>Prowler compliance map</b> (JSON, e.g. nist_csf_2.0_aws.json): which checks test which requirements.</List.Item>
          </List>
          <Text size="xs" c="dimmed">From the server: <Code>cspm scf import FILE</Code> or <Code>cspm frameworks import FILE</Code>. Every team is re-scored after a change.</Text>
          <form onSubmit={(e) => { e.preventDefault(); void submit(); }}>
            <Group align="end">
              <FileInput label="Content file" placeholder="Choose .xlsx, .yaml or .json" accept=".xlsx,.yaml,.yml,.json"
                value={file} onChange={setFile} clearable w={{ base: "100%", sm: 360 }} data-testid="content-file" />
              <Button type="submit" disabled={!file} loading={busy} data-testid="content-submit">Import</Button>
            </Group>
          </form>
          {busy && (
            <Stack gap={2}>
              <Progress value={progress * 100} animated={progress >= 1} />
              <Text size="xs" c="dimmed">{progress < 1 ? `Uploading ${Math.round(progress * 100)}%` : "Reading and loading the content…"}</Text>
            </Stack>
          )}
          {error !== null && (
            <Alert color="red" title="The file was not loaded" data-testid="content-error">
              {error instanceof Error ? error.message : String(error)}
            </Alert>
          )}
        </Stack>
      </Card>
      {done.map((d, i) => (
        <Card withBorder key={i} data-testid="import-result">
          <Text fw={600} mb="xs" style={{ overflowWrap: "anywhere" }}>{d.file} · content version {d.result.content_version}</Text>
          <ScrollArea type="auto">
            <Table miw={760}>
              <Table.Thead>
                <Table.Tr>
                  <Table.Th>Kind</Table.Th>
                  <Table.Th>Name</Table.Th>
                  <Table.Th>Version</Table.Th>
                  <Table.Th>Outcome</Table.Th>
                  <Table.Th ta="right">Nodes</Table.Th>
                  <Table.Th ta="right">Assessable</Table.Th>
                  <Table.Th ta="right">Domains</Table.Th>
                  <Table.Th ta="right">Mappings</Table.Th>
                </Table.Tr>
              </Table.Thead>
              <Table.Tbody>
                {d.result.items.map((it) => <ItemRows key={it.kind + it.urn} it={it} />)}
              </Table.Tbody>
            </Table>
          </ScrollArea>
        </Card>
      ))}
    </Stack>
  );
}
