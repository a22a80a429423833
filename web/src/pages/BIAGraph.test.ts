import { describe, expect, it } from "vitest";
import { findingsHref } from "./BIAGraph";

describe("the dependency graph's links", () => {
  it("opens the open failures on a dependency in the findings explorer", () => {
    expect(findingsHref({ kind: "cloud_account", value: "111122223333" })).toBe("/findings?account=111122223333&status=open,reopened&result=fail");
    expect(findingsHref({ kind: "resource", value: "arn:aws:s3:::b&c" })).toBe("/findings?resource=arn%3Aaws%3As3%3A%3A%3Ab%26c&status=open,reopened&result=fail");
    expect(findingsHref({ kind: "container_image", value: "nginx:1.25" })).toBe("/findings?q=nginx%3A1.25&status=open,reopened&result=fail");
    expect(findingsHref({ kind: "process", value: "p1" })).toBe("/bia/p1");
  });
  it("links nothing where no list exists", () => {
    expect(findingsHref({ kind: "vendor", value: "Acme" })).toBeUndefined();
    expect(findingsHref({ kind: "tag", value: "app=payments" })).toBeUndefined();
  });
});
