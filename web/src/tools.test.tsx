import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { cleanup, render, screen } from "@testing-library/react";
import { MantineProvider } from "@mantine/core";
import { MemoryRouter } from "react-router-dom";
import type { ScanRun, SystemStatus } from "./api/client";
import { installHint, inventoryOf, isMissing, missingOf, type ToolStatus } from "./tools";
import { NewScanForm } from "./pages/ScansPage";
import { hasFindings, progressSections, RunProgress } from "./pages/ScanRunPage";

beforeAll(() => {
  window.matchMedia ??= ((query: string) => ({
    matches: false, media: query, onchange: null,
    addListener: () => {}, removeListener: () => {}, addEventListener: () => {}, removeEventListener: () => {}, dispatchEvent: () => false,
  })) as unknown as typeof window.matchMedia;
  globalThis.ResizeObserver ??= class { observe() {} unobserve() {} disconnect() {} } as unknown as typeof ResizeObserver;
  // The autosizing Textarea listens for web fonts loading; jsdom has none.
  if (!("fonts" in document)) {
    Object.defineProperty(document, "fonts", { value: { addEventListener() {}, removeEventListener() {}, ready: Promise.resolve() } });
  }
});
afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
});

const tool = (name: string, found: boolean): ToolStatus => ({
  name, label: name.toUpperCase(), scan_types: ["network"], executable: name, setting: `${name}_bin`, env: `CSPM_${name.toUpperCase()}_BIN`,
  found, install: `apt-get install ${name}`, ...(found ? { path: `/usr/bin/${name}`, version: "1.0" } : { problem: `${name} is not on PATH` }),
});

const status = (workers: boolean, tools?: ToolStatus[]) => ({ queue: { workers_in_process: workers }, tools }) as unknown as SystemStatus;

describe("tool inventory", () => {
  it("knows what is missing only when the workers run in the answering process", () => {
    const inv = inventoryOf(status(true, [tool("nmap", false), tool("wapiti", true)]));
    expect(isMissing(inv, "nmap")).toBe(true);
    expect(isMissing(inv, "wapiti")).toBe(false);
    expect(isMissing(inv, "trivy")).toBe(false); // not listed: unknown, not missing
    expect(missingOf(inv, ["wapiti", "nmap"]).map((t) => t.name)).toEqual(["nmap"]);
    const elsewhere = inventoryOf(status(false, [tool("nmap", false)]));
    expect(isMissing(elsewhere, "nmap")).toBe(false);
    expect(elsewhere.workersElsewhere).toBe(true);
    expect(inventoryOf(status(true)).checked).toBe(false); // anonymous: no tools in the answer
  });
  it("says how to install a missing tool and which setting names it", () => {
    expect(installHint(tool("nmap", false))).toBe("NMAP is not installed (nmap is not on PATH). Install: apt-get install nmap; or set nmap_bin (CSPM_NMAP_BIN) to its executable.");
  });
});

describe("NewScanForm", () => {
  it("disables a missing scanner and says how to install it", () => {
    vi.stubGlobal("fetch", vi.fn(async () => new Response("{}", { status: 500 })));
    const inv = inventoryOf(status(true, [tool("nmap", false)]));
    render(<MantineProvider><MemoryRouter><NewScanForm onStarted={() => {}} inventory={inv} /></MemoryRouter></MantineProvider>);
    expect(screen.getByTestId("tool-missing-nmap").textContent).toContain("apt-get install nmap");
    expect((screen.getByTestId("scan-submit") as HTMLButtonElement).disabled).toBe(true);
  });
  it("lets an installed scanner start", () => {
    vi.stubGlobal("fetch", vi.fn(async () => new Response("{}", { status: 500 })));
    const inv = inventoryOf(status(true, [tool("nmap", true)]));
    render(<MantineProvider><MemoryRouter><NewScanForm onStarted={() => {}} inventory={inv} /></MemoryRouter></MantineProvider>);
    expect(screen.queryByTestId("tools-missing")).toBeNull();
    expect((screen.getByTestId("scan-submit") as HTMLButtonElement).disabled).toBe(false);
  });
});

describe("a run's progress", () => {
  const run = (status: ScanRun["status"], done: number, failed: number, total = 4) => ({ status, subjobs_done: done, subjobs_failed: failed, subjobs_total: total });
  it("is red for a failed run, green and red for a partial one, blue while running", () => {
    expect(progressSections(run("failed", 4, 4))).toEqual({ ok: 0, failed: 100, okColor: "green" });
    expect(progressSections(run("partial", 4, 1))).toEqual({ ok: 75, failed: 25, okColor: "green" });
    expect(progressSections(run("running", 2, 0))).toEqual({ ok: 50, failed: 0, okColor: "blue" });
    render(<MantineProvider><RunProgress run={run("failed", 1, 1, 1)} /></MantineProvider>);
    expect(screen.queryByTestId("progress-ok")).toBeNull();
    expect(screen.getByTestId("progress-failed")).toBeTruthy();
  });
  it("offers findings only when the run produced some", () => {
    const none = { items_read: 0, findings_created: 0, findings_updated: 0, findings_unchanged: 0, findings_resolved: 0 };
    expect(hasFindings(none)).toBe(false);
    expect(hasFindings({ ...none, findings_resolved: 2 })).toBe(true);
    expect(hasFindings({ ...none, items_read: 5 })).toBe(true);
  });
});
