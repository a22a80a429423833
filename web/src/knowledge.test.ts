import { describe, expect, it } from "vitest";
import { parseEvents, parseTags } from "./knowledge";

describe("knowledge", () => {
  it("splits server-sent events and keeps the unfinished rest", () => {
    const { events, rest } = parseEvents('event: delta\ndata: {"text":"a"}\n\nevent: answer\ndata: {"answer":"x"}\n\nevent: del');
    expect(events).toEqual([
      { event: "delta", data: '{"text":"a"}' },
      { event: "answer", data: '{"answer":"x"}' },
    ]);
    expect(rest).toBe("event: del");
  });
  it("parses tags", () => {
    expect(parseTags(" ISO, access,, ")).toEqual(["iso", "access"]);
  });
});
