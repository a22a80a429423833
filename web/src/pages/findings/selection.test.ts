import { describe, expect, it } from "vitest";
import { count, EMPTY, isSelected, MAX_TICKETS, pageState, selectAllMatching, target, ticketIDs, toggle, togglePage } from "./selection";

describe("bulk selection", () => {
  it("toggles rows by ID", () => {
    let s = toggle(EMPTY, 1);
    s = toggle(s, 2);
    expect(s).toEqual({ mode: "ids", ids: [1, 2] });
    s = toggle(s, 1);
    expect(s).toEqual({ mode: "ids", ids: [2] });
    expect(isSelected(s, 2) && !isSelected(s, 1)).toBe(true);
  });
  it("selects the page from the header, and clears it when all are selected", () => {
    let s = togglePage(toggle(EMPTY, 3), [1, 2, 3]);
    expect(pageState(s, [1, 2, 3])).toBe("all");
    s = togglePage(s, [1, 2, 3]);
    expect(pageState(s, [1, 2, 3])).toBe("none");
    expect(pageState(toggle(EMPTY, 2), [1, 2, 3])).toBe("some");
  });
  it("selects every finding matching the filter, counted by the total", () => {
    const s = selectAllMatching();
    expect(isSelected(s, 99)).toBe(true);
    expect(count(s, 1234)).toBe(1234);
    expect(count(toggle(EMPTY, 5), 1234)).toBe(1);
    // A click on a row leaves "all matching" for that row alone.
    expect(toggle(s, 7)).toEqual({ mode: "ids", ids: [7] });
  });
  it("sends ids or the filter", () => {
    expect(target(toggle(EMPTY, 4), { status: ["open"] })).toEqual({ ids: [4] });
    expect(target(selectAllMatching(), { status: ["open"] })).toEqual({ filter: { status: ["open"] } });
  });
});

describe("ticketIDs", () => {
  const rows = (n: number) => Array.from({ length: n }, (_, i) => ({ id: i + 1 }));
  it("sends the selected rows as they are, without reading the list", async () => {
    const list = () => Promise.reject(new Error("not called"));
    expect(await ticketIDs(toggle(toggle(EMPTY, 7), 3), list, {})).toEqual(["7", "3"]);
  });
  it("reads every match of the filter, up to the limit, with the list's filter", async () => {
    let asked: Record<string, string> = {};
    const list = (q: Record<string, string>) => { asked = q; return Promise.resolve({ total: 73, findings: rows(73) }); };
    const ids = await ticketIDs(selectAllMatching(), list, { status: "open,reopened", severity: "high" });
    expect(ids).toHaveLength(73);
    expect(ids[0]).toBe("1");
    expect(asked).toEqual({ status: "open,reopened", severity: "high", limit: String(MAX_TICKETS) });
  });
  it("refuses a filter matching more than the limit, with its count, rather than send part of it", async () => {
    const list = () => Promise.resolve({ total: 250, findings: rows(MAX_TICKETS) });
    await expect(ticketIDs(selectAllMatching(), list, {})).rejects.toThrow(/250 findings match the filter: at most 100/);
  });
  it("refuses more selected rows than the limit", async () => {
    let s = EMPTY;
    for (let i = 1; i <= MAX_TICKETS + 1; i++) s = toggle(s, i);
    await expect(ticketIDs(s, () => Promise.reject(new Error("not called")), {})).rejects.toThrow(/101 findings selected/);
  });
});
