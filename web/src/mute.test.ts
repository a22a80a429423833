import { describe, expect, it } from "vitest";
import { muteInfo, muteSentence, todayISO, untilFromDate } from "./mute";

const now = new Date("2026-06-01T12:00:00Z");
const day = (d: Date) => d.toISOString().slice(0, 10);

describe("muteInfo", () => {
  it("is nothing for a finding that is not muted", () => {
    expect(muteInfo({ status: "open", mute_kind: "mute" }, now)).toBeNull();
  });
  it("tells a risk acceptance from a mute and a rule", () => {
    expect(muteInfo({ status: "muted", mute_kind: "risk_accepted" }, now)?.label).toBe("risk accepted");
    expect(muteInfo({ status: "muted", mute_kind: "mute" }, now)?.label).toBe("muted");
    expect(muteInfo({ status: "muted", mute_kind: "rule" }, now)?.label).toBe("muted by rule");
    // A server that does not say which: a plain mute, never a risk acceptance.
    expect(muteInfo({ status: "muted" }, now)?.kind).toBe("mute");
  });
  it("reads the expiry and whether it has passed", () => {
    const m = muteInfo({ status: "muted", mute_kind: "risk_accepted", muted_until: "2026-12-31T23:59:59Z" }, now)!;
    expect(m.until?.toISOString()).toBe("2026-12-31T23:59:59.000Z");
    expect(m.expired).toBe(false);
    expect(muteInfo({ status: "muted", muted_until: "2026-01-01T00:00:00Z" }, now)!.expired).toBe(true);
    expect(muteInfo({ status: "muted", muted_until: "not a date" }, now)!.until).toBeNull();
  });
});

describe("muteSentence", () => {
  it("says kind, who, until when and why", () => {
    const m = muteInfo({ status: "muted", mute_kind: "risk_accepted", muted_by: "ana@example.com", muted_reason: "legacy host, retired in Q1",
      muted_until: "2026-12-31T23:59:59Z" }, now)!;
    expect(muteSentence(m, day)).toBe("Risk accepted by ana@example.com until 2026-12-31: legacy host, retired in Q1");
  });
  it("claims nothing about reason or end when the server did not say", () => {
    expect(muteSentence(muteInfo({ status: "muted" }, now)!, day)).toBe("Muted");
  });
  it("says when there is no end, and when the end has passed", () => {
    expect(muteSentence(muteInfo({ status: "muted", mute_kind: "mute" }, now)!, day)).toBe("Muted, no end date");
    expect(muteSentence(muteInfo({ status: "muted", mute_kind: "rule", muted_until: "2026-01-02T00:00:00Z" }, now)!, day))
      .toBe("Muted by a mute rule (expired 2026-01-02)");
  });
  it("names a mute the report asked for", () => {
    const m = muteInfo({ status: "muted", mute_kind: "tool", muted_by: "trivy", muted_reason: "vendor status not_affected (as trivy reports it)" }, now)!;
    expect(m.kind).toBe("tool");
    expect(m.label).toBe("suppressed");
    expect(muteSentence(m, day)).toBe("Suppressed by trivy: vendor status not_affected (as trivy reports it)");
  });
});

describe("untilFromDate", () => {
  it("ends the mute at the end of the chosen local day", () => {
    const until = untilFromDate("2026-12-31")!;
    const d = new Date(until);
    expect([d.getFullYear(), d.getMonth(), d.getDate(), d.getHours(), d.getMinutes()]).toEqual([2026, 11, 31, 23, 59]);
  });
  it("sends no expiry for an empty or malformed date", () => {
    expect(untilFromDate("")).toBeUndefined();
    expect(untilFromDate("31/12/2026")).toBeUndefined();
  });
  it("offers today as the earliest date", () => {
    expect(todayISO(new Date(2026, 0, 5, 10))).toBe("2026-01-05");
  });
});
