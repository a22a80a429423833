import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { cleanup, render, screen } from "@testing-library/react";
import type { ReactNode } from "react";
import { MantineProvider } from "@mantine/core";
import { MemoryRouter } from "react-router-dom";
import { SeverityBadge, StatusBadge } from "./SeverityBadge";
import { firstSteps } from "./EmptyState";
import { MuteSummary } from "../pages/FindingsPage";
import { KEVError } from "../pages/VulnerabilitiesPage";

beforeAll(() => {
  // jsdom has no matchMedia, which Mantine reads for the colour scheme.
  window.matchMedia ??= ((query: string) => ({
    matches: false, media: query, onchange: null,
    addListener: () => {}, removeListener: () => {}, addEventListener: () => {}, removeEventListener: () => {}, dispatchEvent: () => false,
  })) as unknown as typeof window.matchMedia;
});
afterEach(cleanup);

const ui = (node: ReactNode) => render(<MantineProvider><MemoryRouter>{node}</MemoryRouter></MantineProvider>);

describe("SeverityBadge", () => {
  it("colours each severity from the palette", () => {
    ui(<><SeverityBadge severity="critical" /><SeverityBadge severity="low" /></>);
    const style = (t: string) => screen.getByText(t).closest(".mantine-Badge-root")!.getAttribute("style") ?? "";
    expect(style("critical")).toContain("--mantine-color-red-9");
    expect(style("low")).toContain("--mantine-color-blue-6");
  });
});

describe("StatusBadge", () => {
  it("names a risk acceptance, not a plain mute", () => {
    ui(<StatusBadge status="muted" finding={{ status: "muted", mute_kind: "risk_accepted", muted_reason: "legacy" }} />);
    expect(screen.getByTestId("mute-badge").textContent).toBe("risk accepted");
  });
  it("shows other statuses as they are", () => {
    ui(<StatusBadge status="open" finding={{ status: "open" }} />);
    expect(screen.getByText("open")).toBeTruthy();
    expect(screen.queryByTestId("mute-badge")).toBeNull();
  });
});

describe("MuteSummary", () => {
  it("says the reason, who and until when", () => {
    ui(<MuteSummary f={{ status: "muted", mute_kind: "risk_accepted", muted_reason: "compensating control", muted_by: "ana@example.com",
      muted_until: "2099-01-31T12:00:00Z" }} />);
    const text = screen.getByTestId("mute-summary").textContent ?? "";
    expect(text).toContain("Risk accepted");
    expect(text).toContain("compensating control");
    expect(text).toContain("ana@example.com");
    expect(screen.getByTestId("mute-until-text").textContent).toBe(`Until ${new Date("2099-01-31T12:00:00Z").toLocaleDateString()}`);
  });
  it("says there is no end date, and nothing for an unmuted finding", () => {
    const { unmount } = ui(<MuteSummary f={{ status: "muted", mute_kind: "mute" }} />);
    expect(screen.getByTestId("mute-until-text").textContent).toBe("No end date");
    unmount();
    const second = ui(<MuteSummary f={{ status: "muted" }} />);
    expect(screen.getByTestId("mute-summary").textContent).toBe("Muted");
    second.unmount();
    ui(<MuteSummary f={{ status: "open" }} />);
    expect(screen.queryByTestId("mute-summary")).toBeNull();
  });
});

describe("KEVError", () => {
  it("says the failure in plain words and keeps the raw error folded away", () => {
    ui(<KEVError raw='Get "http://kev.local/x.json": dial tcp 10.0.0.1:443: connect: connection refused' />);
    expect(screen.getByTestId("kev-error").textContent).toContain("cannot reach the catalog URL");
    expect(screen.getByTestId("kev-error-toggle").textContent).toBe("Technical details");
  });
});

describe("firstSteps", () => {
  it("offers only what the role may do", () => {
    const all = new Set(["findings:import", "cloud_accounts:manage", "scans:run"]);
    expect(firstSteps((p) => all.has(p)).map((s) => s.to)).toEqual(["/import", "/cloud-accounts", "/scans?new=1"]);
    expect(firstSteps(() => false)).toEqual([]);
  });
});
