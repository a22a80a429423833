import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { cleanup, fireEvent, render, screen } from "@testing-library/react";
import type { ReactNode } from "react";
import { MantineProvider } from "@mantine/core";
import { FindingStatusBadge } from "./FindingStatusBadge";
import { BulkBar } from "./BulkBar";
import { EMPTY, selectAllMatching, toggle } from "./selection";

beforeAll(() => {
  window.matchMedia ??= ((query: string) => ({
    matches: false, media: query, onchange: null,
    addListener: () => {}, removeListener: () => {}, addEventListener: () => {}, removeEventListener: () => {}, dispatchEvent: () => false,
  })) as unknown as typeof window.matchMedia;
  // jsdom has no ResizeObserver either, which Mantine's Select reads.
  globalThis.ResizeObserver ??= class { observe() {} unobserve() {} disconnect() {} } as unknown as typeof ResizeObserver;
});
afterEach(cleanup);

const ui = (node: ReactNode) => render(<MantineProvider>{node}</MantineProvider>);
const noop = () => {};

describe("FindingStatusBadge", () => {
  it("shows a triage state as itself, not as a mute", () => {
    ui(<FindingStatusBadge f={{ status: "false_positive", triage_reason: "test data" }} />);
    expect(screen.getByTestId("triage-badge").textContent).toBe("false positive");
    expect(screen.queryByTestId("mute-badge")).toBeNull();
  });
  it("says when a risk acceptance waits for approval", () => {
    ui(<FindingStatusBadge f={{ status: "open", risk_pending: true }} />);
    expect(screen.getByText("open")).toBeTruthy();
    expect(screen.getByTestId("risk-pending-badge").textContent).toBe("risk pending");
  });
});

describe("BulkBar", () => {
  it("is hidden with nothing selected", () => {
    ui(<BulkBar selection={EMPTY} total={10} filter={{}} users={[]} onDone={noop} onSelectAll={noop} onClear={noop} />);
    expect(screen.queryByTestId("bulk-bar")).toBeNull();
  });
  it("counts the selection, offers every match, and needs a reason to accept risk", () => {
    let all = false;
    ui(<BulkBar selection={toggle(toggle(EMPTY, 1), 2)} total={40} filter={{}} users={[]} onDone={noop} onSelectAll={() => { all = true; }} onClear={noop} />);
    expect(screen.getByTestId("bulk-count").textContent).toBe("2 selected");
    fireEvent.click(screen.getByTestId("bulk-select-all"));
    expect(all).toBe(true);
    expect((screen.getByTestId("bulk-apply") as HTMLButtonElement).disabled).toBe(true);
    fireEvent.change(screen.getByTestId("bulk-reason"), { target: { value: "legacy" } });
    expect((screen.getByTestId("bulk-apply") as HTMLButtonElement).disabled).toBe(false);
  });
  it("names the whole filter when every match is selected", () => {
    ui(<BulkBar selection={selectAllMatching()} total={1234} filter={{}} users={[]} onDone={noop} onSelectAll={noop} onClear={noop} />);
    expect(screen.getByTestId("bulk-count").textContent).toBe("All 1234 matching");
    expect(screen.queryByTestId("bulk-select-all")).toBeNull();
  });
});
