import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { cleanup, fireEvent, render, screen, waitFor } from "@testing-library/react";
import { MantineProvider } from "@mantine/core";
import { MemoryRouter } from "react-router-dom";
import { ComplianceFrameworkPage } from "./ComplianceFramework";
import type { FrameworkDetail, FrameworkNode } from "../compliance";

beforeAll(() => {
  window.matchMedia ??= ((query: string) => ({
    matches: false, media: query, onchange: null,
    addListener: () => {}, removeListener: () => {}, addEventListener: () => {}, removeEventListener: () => {}, dispatchEvent: () => false,
  })) as unknown as typeof window.matchMedia;
  // Mantine's ScrollArea measures itself.
  globalThis.ResizeObserver ??= class { observe() {} unobserve() {} disconnect() {} } as unknown as typeof ResizeObserver;
});
afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
});

const n = (urn: string, parent: string, status: FrameworkNode["status"], assessable: boolean, score: number | null, controls: FrameworkNode["controls"] = []): FrameworkNode =>
  ({ urn, parent_urn: parent, ref_id: urn.toUpperCase(), name: `name of ${urn}`, description: "", depth: parent ? 2 : 1, assessable, weight: 1, status, score, controls });

const detail: FrameworkDetail = {
  id: "fw1", urn: "urn:fw", ref_id: "csf", family: "nist-csf-2.0", name: "Golden CSF", version: "2.0", source: "library", provider: "NIST",
  copyright: "", description: "", is_scf: false, primary: false, nodes: 4, assessable: 3, domains: 1, score: 40, counts: { failing: 1, passing: 1, not_assessed: 1 },
  tree: [
    n("pr", "", "partial", false, 40),
    n("pr.ds-01", "pr", "failing", true, 0, [{ urn: "urn:scf:cry-01", ref_id: "CRY-01", name: "Crypto", status: "failing", score: 0, coverage: "full", via: "equal" }]),
    n("pr.aa-01", "pr", "passing", true, 100),
    n("pr.aa-02", "pr", "not_assessed", true, null),
  ],
};

function renderPage() {
  vi.stubGlobal("fetch", vi.fn(async () => new Response(JSON.stringify(detail), { status: 200 })));
  return render(<MantineProvider><MemoryRouter><ComplianceFrameworkPage id="fw1" /></MemoryRouter></MantineProvider>);
}

const rowRefs = () => screen.queryAllByTestId("requirement-row").map((r) => r.getAttribute("data-urn"));

describe("ComplianceFrameworkPage", () => {
  it("shows the sections collapsed, and a section's requirements when opened", async () => {
    renderPage();
    await waitFor(() => expect(screen.getByTestId("framework-title").textContent).toBe("Golden CSF"));
    expect(rowRefs()).toEqual(["pr"]);
    fireEvent.click(screen.getByTestId("node-toggle"));
    expect(rowRefs()).toEqual(["pr", "pr.ds-01", "pr.aa-01", "pr.aa-02"]);
    expect(screen.getAllByTestId("requirement-score").map((s) => s.textContent)).toEqual(["40%", "0%", "100%", "—"]);
  });
  it("filters by status and links a requirement to its SCF controls", async () => {
    renderPage();
    await waitFor(() => screen.getByTestId("framework-title"));
    fireEvent.click(screen.getByText("Failing"));
    await waitFor(() => expect(rowRefs()).toEqual(["pr", "pr.ds-01"]));
    const link = screen.getByTestId("control-link");
    expect(link.getAttribute("href")).toBe("/compliance/controls?id=urn%3Ascf%3Acry-01");
    expect(link.getAttribute("data-status")).toBe("failing");
  });
  it("offers the framework's status as CSV and XLSX", async () => {
    renderPage();
    await waitFor(() => screen.getByTestId("framework-title"));
    expect(screen.getByTestId("export-csv").getAttribute("href")).toBe("/api/v1/compliance/frameworks/fw1/export?format=csv");
    expect(screen.getByTestId("export-xlsx").getAttribute("href")).toBe("/api/v1/compliance/frameworks/fw1/export?format=xlsx");
  });
});
