import { describe, expect, it } from "vitest";
import { validSLA } from "./SLAEditor";

describe("validSLA", () => {
  const ok = { critical_days: 7, high_days: 30, medium_days: 90, low_days: 120 };
  it("takes the default policy", () => expect(validSLA(ok)).toBe(""));
  it("refuses days out of range or not whole", () => {
    expect(validSLA({ ...ok, critical_days: 0 })).toMatch(/Critical/);
    expect(validSLA({ ...ok, low_days: 4000 })).toMatch(/Low/);
    expect(validSLA({ ...ok, high_days: 1.5 })).toMatch(/High/);
  });
  it("refuses a more severe level with longer than a less severe one", () => {
    expect(validSLA({ ...ok, critical_days: 31 })).toMatch(/more severe/);
  });
});
