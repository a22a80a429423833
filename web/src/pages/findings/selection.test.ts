import { describe, expect, it } from "vitest";
import { count, EMPTY, isSelected, pageState, selectAllMatching, target, toggle, togglePage } from "./selection";

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
