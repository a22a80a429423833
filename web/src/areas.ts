// The areas of the platform, as the seed names them. The shell's navigation
// and the placeholder pages both read this list, so a new area is one entry.
export interface Area {
  path: string;
  label: string;
  description: string;
  group: "Posture" | "Governance" | "Platform";
}

export const areas: Area[] = [
  { path: "/", label: "Posture overview", group: "Posture", description: "Counts by severity, status, service and account, and the daily trend." },
  { path: "/findings", label: "Findings", group: "Posture", description: "Every tool's findings normalized to OCSF, with filters, facets and history." },
  { path: "/scans", label: "Scans", group: "Posture", description: "One history of cloud, network, web and container scans and imports." },
  { path: "/import", label: "Import a report", group: "Posture", description: "Upload a scanner report to turn it into findings." },
  { path: "/mute-rules", label: "Mute rules", group: "Posture", description: "Rules that mute expected findings, with a preview of what each would mute." },
  { path: "/cloud-accounts", label: "Cloud accounts", group: "Posture", description: "AWS, GCP and Azure accounts, their credentials and scan schedules." },
  { path: "/vulnerabilities", label: "Vulnerabilities", group: "Posture", description: "The unified vulnerability store, enriched with CISA KEV and EPSS." },
  { path: "/compliance", label: "Compliance", group: "Governance", description: "The Secure Controls Framework and scores computed continuously from findings." },
  { path: "/bia", label: "Business impact", group: "Governance", description: "Business impact analyses of the organization's activities." },
  { path: "/knowledge-base", label: "Knowledge base", group: "Governance", description: "Questions about the organization's security policies, answered with citations." },
  { path: "/integrations", label: "Integrations", group: "Platform", description: "Notifications to webhooks, Slack, Teams and email; tickets in Jira and GitHub." },
  { path: "/admin", label: "Administration", group: "Platform", description: "Users, roles, team settings and the audit log." },
  { path: "/status", label: "System status", group: "Platform", description: "Version, database engine and job queue health." },
];
