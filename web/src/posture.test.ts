import { describe, expect, it } from "vitest";
import { failuresHref, formatRate, manualHref, parsePostureFilter, passesHref, postureQuery, rateColor, rowFilter } from "./posture";

describe("the posture filter", () => {
  it("reads lists from the query string and writes them back", () => {
    const f = parsePostureFilter(new URLSearchParams("provider=aws&account=111122223333,444455556666&region="));
    expect(f).toEqual({ provider: ["aws"], account: ["111122223333", "444455556666"], region: [] });
    expect(postureQuery(f)).toBe("?provider=aws&account=111122223333,444455556666");
    expect(postureQuery({ provider: [], account: [], region: [] })).toBe("");
  });
  it("escapes values", () => {
    expect(postureQuery({ provider: [], account: ["a&b"], region: [] })).toBe("?account=a%26b");
  });
});

describe("a row's links", () => {
  const f = { provider: [], account: ["111122223333"], region: ["eu-west-1"] };
  it("keep the dashboard's filter and add the row's key and provider", () => {
    expect(failuresHref(rowFilter(f, "service", "s3", "aws"))).toBe(
      "/findings?status=open,reopened&result=fail&provider=aws&service=s3&account=111122223333&region=eu-west-1");
  });
  it("name a check by its ID, not as a provider", () => {
    expect(failuresHref(rowFilter(f, "check", "iam_root_mfa_enabled", "aws"))).toBe(
      "/findings?status=open,reopened&result=fail&account=111122223333&region=eu-west-1&check=iam_root_mfa_enabled");
  });
  it("link passes to resolved passing results and manual checks to open MANUAL results", () => {
    expect(passesHref(rowFilter(f, "region", "eu-west-1", "aws"))).toBe(
      "/findings?status=resolved&result=pass&provider=aws&account=111122223333&region=eu-west-1");
    expect(manualHref({ provider: "gcp" })).toBe("/findings?status=open,reopened&result=manual&provider=gcp");
  });
});

describe("pass rates", () => {
  it("never round up to 100%", () => {
    expect(formatRate(0.996)).toBe("99%");
    expect(formatRate(1)).toBe("100%");
    expect(formatRate(0)).toBe("0%");
    expect(formatRate(null)).toBe("-");
  });
  it("colour by threshold", () => {
    expect(rateColor(0.95)).toBe("green.6");
    expect(rateColor(0.7)).toBe("orange.5");
    expect(rateColor(0.2)).toBe("red.6");
    expect(rateColor(undefined)).toBe("gray.5");
  });
});
