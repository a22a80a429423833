import { describe, expect, it } from "vitest";
import { actionsFor, emptyRecord, etag, hours, statusLabel, tierColor, type Process } from "./bia";

describe("bia", () => {
  it("offers only the lifecycle steps a role may take in a status", () => {
    expect(actionsFor("draft", "SECURITY_MANAGER", true)).toEqual(["submit"]);
    expect(actionsFor("in_review", "COMPLIANCE_OFFICER", true)).toEqual(["approve", "return"]);
    // An ADMIN holds bia:manage but is no approver; archiving is theirs.
    expect(actionsFor("in_review", "ADMIN", true)).toEqual(["archive"]);
    expect(actionsFor("returned", "SECURITY_ANALYST", false)).toEqual([]);
    expect(actionsFor("returned", "COMPLIANCE_OFFICER", true)).toEqual(["revise"]);
    expect(actionsFor("archived", "ADMIN", true)).toEqual([]);
    expect(actionsFor("approved", "VIEWER", false)).toEqual([]);
  });
  it("sends back the ETag the server gives", () => {
    expect(etag({ id: "p1", revision: 7 } as Process)).toBe('"p1-r7"');
  });
  it("formats objectives and statuses", () => {
    expect(hours(undefined)).toBe("—");
    expect(hours(4)).toBe("4 h");
    expect(hours(0.5)).toBe("0.5 h");
    expect(statusLabel("in_review")).toBe("In review");
    expect(tierColor(1)).toBe("red");
    expect(tierColor(9)).toBe("gray");
  });
  it("starts a new analysis at tier 3, owned by its author", () => {
    expect(emptyRecord("u1")).toMatchObject({ tier: 3, owner_id: "u1", dependencies: [] });
  });
});
