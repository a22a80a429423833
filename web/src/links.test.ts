import { describe, expect, it } from "vitest";
import { findingsHref, openFindingsHref } from "./links";

// The findings page reads these names from the query string, lists
// comma-separated: a dashboard link must be a URL the page understands.
describe("findingsHref", () => {
  it("is the plain list without a filter", () => {
    expect(findingsHref()).toBe("/findings");
    expect(findingsHref({ severity: [], tool: "" })).toBe("/findings");
  });
  it("writes the filters the findings page reads, lists comma-separated", () => {
    expect(findingsHref({ severity: "high" })).toBe("/findings?severity=high");
    expect(findingsHref({ status: ["open", "reopened"], severity: ["critical", "high"] })).toBe("/findings?severity=critical,high&status=open,reopened");
  });
  it("escapes values", () => {
    expect(findingsHref({ account: "a b&c", service: "s3/x" })).toBe("/findings?service=s3%2Fx&account=a%20b%26c");
  });
  it("round-trips through URLSearchParams as the page parses it", () => {
    const url = new URL(findingsHref({ service: "ec2", account: "111122223333", region: "eu-west-1" }), "http://x");
    expect(url.searchParams.get("service")).toBe("ec2");
    expect(url.searchParams.get("account")).toBe("111122223333");
    expect(url.searchParams.get("region")).toBe("eu-west-1");
  });
});

describe("openFindingsHref", () => {
  it("counts what the overview counts as open failures", () => {
    expect(openFindingsHref()).toBe("/findings?status=open,reopened&result=fail");
    expect(openFindingsHref({ severity: "medium" })).toBe("/findings?severity=medium&status=open,reopened&result=fail");
    expect(openFindingsHref({ tool: "prowler", status: "muted" })).toBe("/findings?status=open,reopened&result=fail&tool=prowler");
  });
  it("keeps an asked-for result, such as the manual checks", () => {
    expect(openFindingsHref({ result: "manual", provider: "aws" })).toBe("/findings?status=open,reopened&result=manual&provider=aws");
  });
});
