// The knowledge base's API calls: documents, search, ask (streamed as
// server-sent events) and provider settings.
import type { components } from "./api/schema";
import { ApiError, apiFetch, csrf, type Problem } from "./api/client";

type S = components["schemas"];
export type KBDocument = S["Document"];
export type Passage = S["Passage"];
export type Answer = S["Answer"];
export type Citation = S["Citation"];
export type ProviderSettings = S["ProviderSettings"];
export type ProviderSettingsUpdate = S["ProviderSettingsUpdate"];
export type DocumentVersion = S["DocumentVersion"];
export type UploadResult = { document: KBDocument; changed: boolean };

const json = (method: string, body?: unknown): RequestInit => ({ method, body: body === undefined ? undefined : JSON.stringify(body) });
const enc = encodeURIComponent;

export const kb = {
  documents: (tag?: string) => apiFetch<S["DocListOutputBody"]>("/api/v1/knowledge/documents" + (tag ? `?tag=${enc(tag)}` : "")),
  document: (id: string) => apiFetch<KBDocument>(`/api/v1/knowledge/documents/${enc(id)}`),
  versions: (id: string) => apiFetch<S["DocVersionsOutputBody"]>(`/api/v1/knowledge/documents/${enc(id)}/versions`),
  setTags: (id: string, tags: string[]) => apiFetch<KBDocument>(`/api/v1/knowledge/documents/${enc(id)}/tags`, json("PUT", { tags })),
  remove: (id: string) => apiFetch<void>(`/api/v1/knowledge/documents/${enc(id)}`, json("DELETE")),
  search: (q: string, tags: string[] = []) => {
    const p = new URLSearchParams({ q, limit: "20" });
    tags.forEach((t) => p.append("tag", t));
    return apiFetch<S["SearchOutputBody"]>("/api/v1/knowledge/search?" + p.toString());
  },
  chunk: (id: string) => apiFetch<Passage>(`/api/v1/knowledge/chunks/${enc(id)}`),
  settings: () => apiFetch<ProviderSettings>("/api/v1/knowledge/settings"),
  setSettings: (u: ProviderSettingsUpdate) => apiFetch<ProviderSettings>("/api/v1/knowledge/settings", json("PUT", u)),
};

// parseTags splits "a, b" into tags.
export const parseTags = (s: string) =>
  s
    .split(",")
    .map((t) => t.trim().toLowerCase())
    .filter((t) => t !== "");

// uploadDocuments posts files with progress; XMLHttpRequest, because fetch
// cannot report upload progress.
export type Skipped = { name: string; reason: string };

export function uploadDocuments(files: File[], tags: string, onProgress: (fraction: number) => void): Promise<{ results: UploadResult[]; skipped?: Skipped[] }> {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("POST", "/api/v1/knowledge/documents");
    xhr.setRequestHeader("X-CSRF-Token", csrf());
    xhr.upload.onprogress = (e) => e.lengthComputable && onProgress(e.loaded / e.total);
    xhr.onload = () => {
      let body: unknown = {};
      try {
        body = JSON.parse(xhr.responseText);
      } catch {
        body = { detail: xhr.responseText.slice(0, 200) };
      }
      if (xhr.status >= 200 && xhr.status < 300) resolve(body as { results: UploadResult[]; skipped?: Skipped[] });
      else reject(new ApiError(xhr.status, body as Problem));
    };
    xhr.onerror = () => reject(new Error("upload failed: network error"));
    const form = new FormData();
    if (tags.trim()) form.append("tags", tags);
    files.forEach((f) => form.append("file", f, f.name));
    xhr.send(form);
  });
}

// parseEvents splits a server-sent event stream into complete events and
// the unfinished rest.
export function parseEvents(buf: string): { events: { event: string; data: string }[]; rest: string } {
  const events: { event: string; data: string }[] = [];
  const blocks = buf.split("\n\n");
  const rest = blocks.pop() ?? "";
  for (const b of blocks) {
    let event = "message";
    const data: string[] = [];
    for (const line of b.split("\n")) {
      if (line.startsWith("event: ")) event = line.slice(7);
      else if (line.startsWith("data: ")) data.push(line.slice(6));
    }
    events.push({ event, data: data.join("\n") });
  }
  return { events, rest };
}

// ask streams the answer: onDelta gets text as it comes; the promise
// resolves with the whole answer and its citations.
export async function ask(question: string, tags: string[], onDelta: (text: string) => void, signal?: AbortSignal): Promise<Answer> {
  const res = await fetch("/api/v1/knowledge/ask/stream", {
    method: "POST",
    credentials: "same-origin",
    headers: { "Content-Type": "application/json", Accept: "text/event-stream", "X-CSRF-Token": csrf() },
    body: JSON.stringify({ question, tags }),
    signal,
  });
  if (!res.ok || !res.body) {
    let p: Problem = {};
    try {
      p = (await res.json()) as Problem;
    } catch {
      /* not JSON */
    }
    throw new ApiError(res.status, p);
  }
  const reader = res.body.getReader();
  const dec = new TextDecoder();
  let buf = "";
  for (;;) {
    const { done, value } = await reader.read();
    if (value) buf += dec.decode(value, { stream: true });
    const { events, rest } = parseEvents(buf);
    buf = rest;
    for (const e of events) {
      const data = JSON.parse(e.data);
      if (e.event === "delta") onDelta(data.text);
      else if (e.event === "answer") return data as Answer;
      else if (e.event === "error") throw new Error(data.detail);
    }
    if (done) throw new Error("the answer stream ended early");
  }
}
