import { describe, expect, it } from "vitest";
import { formatDuration, shortCommit } from "./format";
import { problemMessage } from "./api/client";

describe("formatDuration", () => {
  it("picks the two largest units", () => {
    expect(formatDuration(5)).toBe("5s");
    expect(formatDuration(125)).toBe("2m 5s");
    expect(formatDuration(3 * 3600 + 120)).toBe("3h 2m");
    expect(formatDuration(2 * 86400 + 5 * 3600)).toBe("2d 5h");
  });
  it("refuses nonsense", () => {
    expect(formatDuration(-1)).toBe("—");
    expect(formatDuration(Number.NaN)).toBe("—");
  });
});

describe("shortCommit", () => {
  it("shortens and names the unknown", () => {
    expect(shortCommit("0123456789abcdef")).toBe("0123456789ab");
    expect(shortCommit("")).toBe("unknown");
  });
});

describe("problemMessage", () => {
  it("prefers detail and lists field errors", () => {
    expect(problemMessage(422, { title: "Unprocessable Entity", detail: "validation failed", errors: [{ location: "body.email", message: "expected string" }] }))
      .toBe("validation failed — body.email: expected string");
  });
  it("falls back to title, then status", () => {
    expect(problemMessage(404, { title: "Not Found" })).toBe("Not Found");
    expect(problemMessage(502, {})).toBe("HTTP 502");
  });
});
