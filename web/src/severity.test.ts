import { describe, expect, it } from "vitest";
import { SEVERITIES, severityColor, severityRank } from "./severity";

describe("severityColor", () => {
  it("gives each severity its own colour, from dark red to gray", () => {
    expect(severityColor("critical")).toBe("red.9");
    expect(severityColor("high")).toBe("red.6");
    expect(severityColor("medium")).toBe("orange.5");
    expect(severityColor("low")).toBe("blue.6");
    expect(severityColor("informational")).toBe("gray.6");
    expect(new Set(SEVERITIES.map(severityColor)).size).toBe(SEVERITIES.length);
  });
  it("reads any case and the short 'info'", () => {
    expect(severityColor("HIGH")).toBe("red.6");
    expect(severityColor("info")).toBe("gray.6");
  });
  it("keeps unknown severities neutral, never red", () => {
    for (const s of ["unknown", "fatal", "other", "", null, undefined]) expect(severityColor(s)).toBe("gray.5");
  });
});

describe("severityRank", () => {
  it("orders from most to least severe, unknown last", () => {
    const sorted = ["low", "unknown", "critical", "medium", "high", "informational"].sort((a, b) => severityRank(a) - severityRank(b));
    expect(sorted).toEqual(["critical", "high", "medium", "low", "informational", "unknown"]);
  });
});
