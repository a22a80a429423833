import { useCallback, useEffect, useState } from "react";
import {
  Alert, Anchor, Badge, Button, Card, FileInput, Group, Modal, NumberInput, PasswordInput, Progress, Select, Stack, Table, Tabs, Text,
  TextInput, Textarea, Title,
} from "@mantine/core";
import { useAuth } from "../auth";
import { ErrorAlert } from "../components/ErrorAlert";
import { ask, kb, parseTags, uploadDocuments, type Answer, type KBDocument, type Passage, type ProviderSettings, type Skipped } from "../knowledge";

// The knowledge base: the library of policy documents, search, questions
// answered with citations, and (for ADMIN) the team's providers.
export function KnowledgePage() {
  const { can } = useAuth();
  const [open, setOpen] = useState<string | null>(null);
  return (
    <Stack>
      <Title order={2}>Knowledge base</Title>
      <Text c="dimmed" size="sm">
        Your team's security policies, searched by their words and meaning. Answers cite the passages they come from.
      </Text>
      <Tabs defaultValue="ask" keepMounted={false}>
        <Tabs.List>
          <Tabs.Tab value="ask" data-testid="kb-tab-ask">Ask</Tabs.Tab>
          <Tabs.Tab value="search" data-testid="kb-tab-search">Search</Tabs.Tab>
          <Tabs.Tab value="library" data-testid="kb-tab-library">Library</Tabs.Tab>
          {can("team:manage") && <Tabs.Tab value="settings" data-testid="kb-tab-settings">Providers</Tabs.Tab>}
        </Tabs.List>
        <Tabs.Panel value="ask" pt="md"><AskPanel onOpen={setOpen} /></Tabs.Panel>
        <Tabs.Panel value="search" pt="md"><SearchPanel onOpen={setOpen} /></Tabs.Panel>
        <Tabs.Panel value="library" pt="md"><LibraryPanel manage={can("kb:manage")} /></Tabs.Panel>
        {can("team:manage") && <Tabs.Panel value="settings" pt="md"><SettingsPanel /></Tabs.Panel>}
      </Tabs>
      <PassageModal chunkId={open} onClose={() => setOpen(null)} />
    </Stack>
  );
}

function PassageModal({ chunkId, onClose }: { chunkId: string | null; onClose: () => void }) {
  const [p, setP] = useState<Passage | null>(null);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    setP(null);
    setError(null);
    if (chunkId) kb.chunk(chunkId).then(setP, setError);
  }, [chunkId]);
  return (
    <Modal opened={chunkId !== null} onClose={onClose} title={p ? p.document_name : "Passage"} size="lg">
      <ErrorAlert error={error} />
      {p && (
        <Stack data-testid="kb-passage">
          <Text size="sm" fw={600}>{p.section_path}{p.page ? ` (page ${p.page})` : ""}</Text>
          <Text size="sm" style={{ whiteSpace: "pre-wrap" }}>{p.text}</Text>
        </Stack>
      )}
    </Modal>
  );
}

function AskPanel({ onOpen }: { onOpen: (id: string) => void }) {
  const [question, setQuestion] = useState("");
  const [streamed, setStreamed] = useState("");
  const [answer, setAnswer] = useState<Answer | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  async function submit() {
    setBusy(true);
    setError(null);
    setAnswer(null);
    setStreamed("");
    try {
      setAnswer(await ask(question, [], (d) => setStreamed((s) => s + d)));
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  }
  const text = answer?.answer ?? streamed;
  return (
    <Stack maw={900}>
      <Textarea label="Question" placeholder="What does our policy say about MFA for contractors?" value={question}
        onChange={(e) => setQuestion(e.currentTarget.value)} autosize minRows={2} data-testid="kb-question" />
      <Group>
        <Button onClick={submit} loading={busy} disabled={!question.trim()} data-testid="kb-ask">Ask</Button>
      </Group>
      <ErrorAlert error={error} />
      {text && (
        <Card withBorder data-testid="kb-answer">
          <Stack gap="xs">
            <Text style={{ whiteSpace: "pre-wrap" }}>{text}</Text>
            {answer && !answer.found && <Badge color="gray" variant="light">not found in the documents</Badge>}
            {answer?.provider && <Text size="xs" c="dimmed">{answer.provider} · {answer.model} · {answer.usage.input_tokens} + {answer.usage.output_tokens} tokens</Text>}
          </Stack>
        </Card>
      )}
      {answer && answer.citations.length > 0 && (
        <Stack gap="xs" data-testid="kb-citations">
          <Text fw={600} size="sm">Citations</Text>
          {answer.citations.map((c) => (
            <Card key={c.chunk_id} withBorder padding="sm">
              <Anchor component="button" onClick={() => onOpen(c.chunk_id)} data-testid="kb-citation">
                [{c.n}] {c.document_name} — {c.section_path}{c.page ? `, page ${c.page}` : ""}
              </Anchor>
              <Text size="sm" c="dimmed" lineClamp={3}>{c.text}</Text>
            </Card>
          ))}
        </Stack>
      )}
    </Stack>
  );
}

function SearchPanel({ onOpen }: { onOpen: (id: string) => void }) {
  const [q, setQ] = useState("");
  const [tags, setTags] = useState("");
  const [res, setRes] = useState<{ passages: Passage[]; mode: string } | null>(null);
  const [error, setError] = useState<unknown>(null);
  async function submit() {
    setError(null);
    try {
      setRes(await kb.search(q, parseTags(tags)));
    } catch (e) {
      setError(e);
    }
  }
  return (
    <Stack maw={900}>
      <Group align="end">
        <TextInput label="Search" value={q} onChange={(e) => setQ(e.currentTarget.value)} w={420} data-testid="kb-search-q"
          onKeyDown={(e) => e.key === "Enter" && q.trim() && submit()} />
        <TextInput label="Tags" placeholder="iso27001, access" value={tags} onChange={(e) => setTags(e.currentTarget.value)} w={220} />
        <Button onClick={submit} disabled={!q.trim()} data-testid="kb-search">Search</Button>
      </Group>
      <ErrorAlert error={error} />
      {res && (
        <Stack gap="xs" data-testid="kb-results">
          <Text size="xs" c="dimmed">{res.passages.length} passages · {res.mode === "hybrid" ? "full text and meaning" : "full text"}</Text>
          {res.passages.map((p) => (
            <Card key={p.chunk_id} withBorder padding="sm">
              <Anchor component="button" onClick={() => onOpen(p.chunk_id)}>{p.document_name} — {p.section_path}</Anchor>
              <Text size="sm" lineClamp={4}>{p.text}</Text>
            </Card>
          ))}
        </Stack>
      )}
    </Stack>
  );
}

const statusColor: Record<string, string> = { queued: "gray", processing: "blue", ready: "green", failed: "red" };

function LibraryPanel({ manage }: { manage: boolean }) {
  const [docs, setDocs] = useState<KBDocument[] | null>(null);
  const [maxBytes, setMaxBytes] = useState(0);
  const [files, setFiles] = useState<File[]>([]);
  const [skipped, setSkipped] = useState<Skipped[]>([]);
  const [tags, setTags] = useState("");
  const [progress, setProgress] = useState(0);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const load = useCallback(() => {
    kb.documents().then((r) => {
      setDocs(r.documents);
      setMaxBytes(r.max_bytes);
    }, setError);
  }, []);
  useEffect(load, [load]);
  // Poll while something is being processed, so status and counts move.
  useEffect(() => {
    if (!docs?.some((d) => d.status === "queued" || d.status === "processing" || d.embedded < d.chunks)) return;
    const t = setTimeout(load, 1000);
    return () => clearTimeout(t);
  }, [docs, load]);
  async function upload() {
    setSkipped([]);
    setBusy(true);
    setError(null);
    setProgress(0);
    try {
      const r = await uploadDocuments(files, tags, setProgress);
      setSkipped(r.skipped ?? []);
      setFiles([]);
      load();
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  }
  async function remove(d: KBDocument) {
    if (!window.confirm(`Delete ${d.name} with every version and passage?`)) return;
    try {
      await kb.remove(d.id);
      load();
    } catch (e) {
      setError(e);
    }
  }
  return (
    <Stack>
      {manage && (
        <Card withBorder maw={760}>
          <Stack>
            <FileInput multiple label="Documents" description={`Markdown, text, HTML, PDF or DOCX, or zip archives of them (each file named by its path), up to ${Math.round(maxBytes / 1048576)} MiB each`}
              placeholder="Choose files" value={files} onChange={setFiles} clearable data-testid="kb-files" />
            <TextInput label="Tags" placeholder="iso27001, access" value={tags} onChange={(e) => setTags(e.currentTarget.value)} data-testid="kb-tags" />
            <Group>
              <Button onClick={upload} disabled={files.length === 0} loading={busy} data-testid="kb-upload">Upload</Button>
            </Group>
            {busy && <Progress value={progress * 100} animated aria-label="Upload progress" />}
            {skipped.length > 0 && (
              <Alert color="yellow" title={`${skipped.length} file(s) of the archive were not imported`} data-testid="kb-skipped">
                {skipped.map((s) => <Text size="sm" key={s.name}>{s.name}: {s.reason}</Text>)}
              </Alert>
            )}
          </Stack>
        </Card>
      )}
      <ErrorAlert error={error} />
      {docs && docs.length === 0 && <Alert color="blue">No documents yet.{manage ? " Upload your policies above." : ""}</Alert>}
      {docs && docs.length > 0 && (
        <Table striped data-testid="kb-documents">
          <Table.Thead>
            <Table.Tr>
              <Table.Th>Document</Table.Th><Table.Th>Tags</Table.Th><Table.Th>Version</Table.Th><Table.Th>Status</Table.Th>
              <Table.Th>Passages</Table.Th><Table.Th>Updated</Table.Th>{manage && <Table.Th />}
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {docs.map((d) => (
              <Table.Tr key={d.id} data-testid="kb-document">
                <Table.Td><Text size="sm" fw={600}>{d.title || d.name}</Text><Text size="xs" c="dimmed">{d.name} · {d.content_type}</Text></Table.Td>
                <Table.Td><Group gap={4}>{d.tags.map((t) => <Badge key={t} variant="light">{t}</Badge>)}</Group></Table.Td>
                <Table.Td>{d.version}</Table.Td>
                <Table.Td>
                  <Badge color={statusColor[d.status]} data-testid="kb-status">{d.status}</Badge>
                  {d.error && <Text size="xs" c="red">{d.error}</Text>}
                </Table.Td>
                <Table.Td>{d.chunks}{d.embedded > 0 && d.embedded < d.chunks ? ` (${d.embedded} embedded)` : ""}</Table.Td>
                <Table.Td><Text size="xs">{new Date(d.updated_at).toLocaleString()}</Text></Table.Td>
                {manage && <Table.Td><Button size="xs" variant="subtle" color="red" onClick={() => remove(d)}>Delete</Button></Table.Td>}
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      )}
    </Stack>
  );
}

const chatProviders = [
  { value: "", label: "none (answers are the best passages)" },
  { value: "openai", label: "OpenAI" },
  { value: "anthropic", label: "Anthropic" },
  { value: "google", label: "Google" },
  { value: "openai_compatible", label: "OpenAI-compatible (Ollama, vLLM…)" },
];
const embedProviders = chatProviders.filter((p) => p.value !== "anthropic").map((p) => (p.value === "" ? { value: "", label: "none (full text only)" } : p));

function SettingsPanel() {
  const [st, setSt] = useState<ProviderSettings | null>(null);
  const [chatKey, setChatKey] = useState("");
  const [embedKey, setEmbedKey] = useState("");
  const [saved, setSaved] = useState(false);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    kb.settings().then(setSt, setError);
  }, []);
  if (!st) return <ErrorAlert error={error} />;
  const set = (k: keyof ProviderSettings, v: string) => setSt({ ...st, [k]: v });
  async function save() {
    if (!st) return;
    setError(null);
    setSaved(false);
    try {
      const next = await kb.setSettings({
        chat_provider: st.chat_provider, chat_model: st.chat_model, chat_base_url: st.chat_base_url,
        embed_provider: st.embed_provider, embed_model: st.embed_model, embed_base_url: st.embed_base_url,
        ...(chatKey ? { chat_key: chatKey } : {}), ...(embedKey ? { embed_key: embedKey } : {}),
        monthly_token_budget: st.monthly_token_budget,
      });
      setSt(next);
      setChatKey("");
      setEmbedKey("");
      setSaved(true);
    } catch (e) {
      setError(e);
    }
  }
  return (
    <Stack maw={640}>
      <Title order={4}>Chat</Title>
      <Select label="Provider" data={chatProviders} value={st.chat_provider} onChange={(v) => set("chat_provider", v ?? "")} data-testid="kb-chat-provider" />
      <TextInput label="Model" value={st.chat_model} onChange={(e) => set("chat_model", e.currentTarget.value)} data-testid="kb-chat-model" />
      <TextInput label="Base URL" description="Empty for the provider's own endpoint" value={st.chat_base_url}
        onChange={(e) => set("chat_base_url", e.currentTarget.value)} data-testid="kb-chat-url" />
      <PasswordInput label="API key" placeholder={st.chat_key_set ? "stored; type to replace" : "none"} value={chatKey}
        onChange={(e) => setChatKey(e.currentTarget.value)} data-testid="kb-chat-key" />
      <NumberInput label="Monthly token budget" description="Chat tokens per calendar month (UTC); 0 for unlimited" min={0}
        allowDecimal={false} thousandSeparator="," value={st.monthly_token_budget}
        onChange={(v) => setSt({ ...st, monthly_token_budget: typeof v === "number" ? v : 0 })} data-testid="kb-token-budget" />
      <Text size="sm" c="dimmed" data-testid="kb-token-usage">
        {st.tokens_used.toLocaleString()} tokens used this month
        {st.tokens_remaining != null ? `, ${st.tokens_remaining.toLocaleString()} remaining` : ""}; resets{" "}
        {new Date(st.budget_resets_at).toLocaleDateString()}.
      </Text>
      <Title order={4}>Embeddings</Title>
      <Select label="Provider" data={embedProviders} value={st.embed_provider} onChange={(v) => set("embed_provider", v ?? "")} />
      <TextInput label="Model" value={st.embed_model} onChange={(e) => set("embed_model", e.currentTarget.value)} />
      <TextInput label="Base URL" value={st.embed_base_url} onChange={(e) => set("embed_base_url", e.currentTarget.value)} />
      <PasswordInput label="API key" placeholder={st.embed_key_set ? "stored; type to replace" : "none"} value={embedKey}
        onChange={(e) => setEmbedKey(e.currentTarget.value)} />
      <Group>
        <Button onClick={save} data-testid="kb-save-settings">Save</Button>
        {saved && <Text size="sm" c="green" data-testid="kb-saved">Saved. Keys are sealed and never shown again.</Text>}
      </Group>
      <ErrorAlert error={error} />
    </Stack>
  );
}
