import { useState } from "react";
import { Alert, Button, Card, FileInput, Group, Progress, Select, Stack, Table, Text, Title } from "@mantine/core";
import { Link } from "react-router-dom";
import { api, uploadReport, type ScanResult } from "../api/client";
import { ErrorAlert } from "../components/ErrorAlert";

const FORMATS = ["prowler-ocsf", "prowler-csv", "trivy", "grype", "nmap", "zap", "nuclei", "wapiti", "sarif", "powerpipe"];

export function ImportPage() {
  const [file, setFile] = useState<File | null>(null);
  const [format, setFormat] = useState<string | null>(null);
  const [progress, setProgress] = useState(0);
  const [busy, setBusy] = useState(false);
  const [result, setResult] = useState<ScanResult | null>(null);
  const [error, setError] = useState<unknown>(null);

  async function submit() {
    if (!file) return;
    setBusy(true);
    setError(null);
    setResult(null);
    setProgress(0);
    try {
      const { scan_id } = await uploadReport(file, format ?? "", setProgress);
      for (;;) {
        const rec = await api.importStatus(scan_id);
        setResult(rec);
        if (rec.status === "completed" || rec.status === "failed") break;
        await new Promise((r) => setTimeout(r, 500));
      }
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  }

  return (
    <Stack maw={760}>
      <Title order={2}>Import a report</Title>
      <Text c="dimmed" size="sm">
        Prowler (OCSF or CSV), Trivy, Grype, Nmap XML, OWASP ZAP, Nuclei, Wapiti, SARIF or Powerpipe. The format is detected from the content.
      </Text>
      <Card withBorder>
        <Stack>
          <FileInput label="Report" placeholder="Choose a file" value={file} onChange={setFile} clearable data-testid="import-file" />
          <Select label="Format" placeholder="detect" data={FORMATS} value={format} onChange={setFormat} clearable w={240} />
          <Group>
            <Button onClick={submit} disabled={!file} loading={busy} data-testid="import-submit">Import</Button>
          </Group>
          {busy && <Progress value={progress * 100} animated aria-label="Upload progress" />}
        </Stack>
      </Card>
      <ErrorAlert error={error} />
      {result && (
        <Alert color={result.status === "failed" ? "red" : result.status === "completed" ? "green" : "blue"} title={`Import ${result.status}`} data-testid="import-result">
          {result.error && <Text size="sm">{result.error}</Text>}
          {result.status === "running" && <Text size="sm">{result.items_read} items read so far</Text>}
          {result.status === "completed" && (
            <>
              <Table>
                <Table.Tbody>
                  <Table.Tr><Table.Td>Format</Table.Td><Table.Td>{result.format}</Table.Td></Table.Tr>
                  <Table.Tr><Table.Td>Items read</Table.Td><Table.Td data-testid="import-items">{result.items_read}</Table.Td></Table.Tr>
                  <Table.Tr><Table.Td>New findings</Table.Td><Table.Td data-testid="import-created">{result.findings_created}</Table.Td></Table.Tr>
                  <Table.Tr><Table.Td>Changed / unchanged / resolved</Table.Td><Table.Td>{result.findings_updated} / {result.findings_unchanged} / {result.findings_resolved}</Table.Td></Table.Tr>
                </Table.Tbody>
              </Table>
              <Button component={Link} to={`/findings?scan=${result.id}`} variant="light" mt="sm">See its findings</Button>
            </>
          )}
        </Alert>
      )}
    </Stack>
  );
}
