// Notification rules and ticket integrations: API calls and labels.
import type { components } from "./api/schema";
import { apiFetch } from "./api/client";

type S = components["schemas"];
export type Rule = S["Rule"];
export type RuleInput = S["RuleInput"];
export type ChannelInput = S["ChannelInput"];
export type Delivery = S["Delivery"];

const json = (method: string, body?: unknown): RequestInit => ({ method, body: body === undefined ? undefined : JSON.stringify(body) });
const enc = encodeURIComponent;

export const notifications = {
  rules: () => apiFetch<S["RuleListOutputBody"]>("/api/v1/notifications/rules"),
  create: (r: RuleInput) => apiFetch<Rule>("/api/v1/notifications/rules", json("POST", r)),
  update: (id: string, r: RuleInput) => apiFetch<Rule>(`/api/v1/notifications/rules/${enc(id)}`, json("PUT", r)),
  remove: (id: string) => apiFetch<void>(`/api/v1/notifications/rules/${enc(id)}`, json("DELETE")),
  test: (id: string) => apiFetch<Delivery>(`/api/v1/notifications/rules/${enc(id)}/test`, json("POST")),
  deliveries: (id: string) => apiFetch<S["DeliveriesOutputBody"]>(`/api/v1/notifications/rules/${enc(id)}/deliveries?limit=100`),
};

export const EVENT_LABELS: Record<string, string> = {
  "finding.new": "New critical or high finding",
  "vuln.kev": "New KEV vulnerability on an asset",
  "sla.breached": "Vulnerability SLA breached",
  "scan.failed": "Scan failed",
  "compliance.score_dropped": "Compliance score dropped",
  "bia.review_overdue": "BIA review overdue",
  test: "Test message",
};

export const CHANNEL_LABELS: Record<string, string> = {
  webhook: "Webhook (signed JSON)",
  slack: "Slack",
  teams: "Microsoft Teams",
  email: "Email (SMTP)",
};

export const DELIVERY_COLORS: Record<string, string> = {
  delivered: "green",
  failed: "red",
  pending: "yellow",
  queued_for_digest: "gray",
  in_digest: "blue",
};

// channelSummary says where a rule's messages go, without secrets.
export function channelSummary(r: Rule): string {
  const c = r.channel;
  if (c.kind === "email") return `${(c.to ?? []).join(", ")} via ${c.smtp_host}:${c.smtp_port}`;
  return c.url_hint ?? "";
}

// splitList reads "a, b" into ["a", "b"].
export const splitList = (s: string) =>
  s
    .split(",")
    .map((t) => t.trim())
    .filter((t) => t !== "");

export type Integration = S["Integration"];
export type IntegrationInput = S["IntegrationInput"];
export type Ticket = S["Ticket"];

export const tickets = {
  integrations: () => apiFetch<S["IntegrationListOutputBody"]>("/api/v1/tickets/integrations"),
  createIntegration: (i: IntegrationInput) => apiFetch<Integration>("/api/v1/tickets/integrations", json("POST", i)),
  removeIntegration: (id: string) => apiFetch<void>(`/api/v1/tickets/integrations/${enc(id)}`, json("DELETE")),
  create: (integrationId: string, kind: "finding" | "vulnerability", ids: string[]) =>
    apiFetch<S["TicketsOutputBody"]>("/api/v1/tickets", json("POST", { integration_id: integrationId, subject_kind: kind, subject_ids: ids })),
  // bulk sends a selection: one outcome per subject, those already
  // ticketed in the integration skipped.
  bulk: (integrationId: string, kind: "finding" | "vulnerability", ids: string[]) =>
    apiFetch<S["TicketBulkOutputBody"]>("/api/v1/tickets/bulk", json("POST", { integration_id: integrationId, subject_kind: kind, subject_ids: ids })),
  list: (kind: "finding" | "vulnerability", ids: string[]) => {
    const p = new URLSearchParams({ subject_kind: kind });
    ids.forEach((id) => p.append("subject_id", id));
    return apiFetch<S["TicketsOutputBody"]>("/api/v1/tickets?" + p.toString());
  },
};

// jiraWebhookURL is the URL to paste into Jira's webhook settings: the
// integration's webhook URL with its secret (Jira cannot sign its body
// everywhere, so the secret rides in the query string).
export const jiraWebhookURL = (it: Integration, secret: string) => `${it.webhook_url}&secret=${enc(secret)}`;
