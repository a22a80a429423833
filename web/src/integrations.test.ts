import { describe, expect, it } from "vitest";
import { channelSummary, splitList, type Rule } from "./integrations";

describe("integrations", () => {
  it("summarizes a channel without secrets", () => {
    const email = { channel: { kind: "email", smtp_host: "smtp.example.com", smtp_port: 587, to: ["a@x.org", "b@x.org"] } } as unknown as Rule;
    expect(channelSummary(email)).toBe("a@x.org, b@x.org via smtp.example.com:587");
    const hook = { channel: { kind: "slack", url_hint: "https://hooks.slack.com/services/…" } } as unknown as Rule;
    expect(channelSummary(hook)).toBe("https://hooks.slack.com/services/…");
  });
  it("splits lists", () => {
    expect(splitList(" a, b ,,c")).toEqual(["a", "b", "c"]);
  });
});
