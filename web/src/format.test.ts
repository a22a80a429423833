import { describe, expect, it } from "vitest";
import { formatDuration, formatRelative, shortCommit } from "./format";
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

describe("formatRelative", () => {
  const now = Date.parse("2026-12-03T12:00:00Z");
  it("says how long ago or how soon, in the largest unit", () => {
    expect(formatRelative("2026-12-03T09:00:00Z", now)).toBe("3h ago");
    expect(formatRelative("2026-12-05T13:00:00Z", now)).toBe("in 2d");
    expect(formatRelative("2026-12-03T12:00:30Z", now)).toBe("just now");
    expect(formatRelative("2026-12-03T11:55:00Z", now)).toBe("5m ago");
  });
  it("shows a dash without a valid instant", () => {
    expect(formatRelative(undefined, now)).toBe("—");
    expect(formatRelative("not a date", now)).toBe("—");
  });
});
