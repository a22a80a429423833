import { describe, expect, it } from "vitest";
import { bulkFilter, chips, clearedFilters, effectiveFilters, exportHref, isDefaultView, listQuery, sortOf, withFilter, withSort } from "./filters";

const p = (s: string) => new URLSearchParams(s);

describe("the findings page's filters", () => {
  it("opens on the open failures when the URL names no filter", () => {
    expect(isDefaultView(p(""))).toBe(true);
    expect(listQuery(p(""))).toEqual({ limit: "50", facets: "true", status: "open,reopened", result: "fail" });
    // A sort alone is not a filter.
    expect(effectiveFilters(p("sort=title"))).toEqual({ status: "open,reopened", result: "fail" });
  });
  it("takes a posture dashboard link as it is", () => {
    const link = p("provider=aws&account=111&region=eu-west-1&result=fail&status=open,reopened");
    expect(isDefaultView(link)).toBe(false);
    expect(listQuery(link)).toEqual({ limit: "50", facets: "true", provider: "aws", account: "111", region: "eu-west-1", result: "fail", status: "open,reopened" });
    expect(chips(link).map((c) => c.key)).toEqual(["status", "result", "provider", "account", "region"]);
  });
  it("shows MANUAL results only when asked", () => {
    expect(listQuery(p("result=manual"))).toMatchObject({ result: "manual" });
    expect(listQuery(p("result=manual")).status).toBeUndefined();
  });
  it("keeps the default view's filters when another is added, and shows everything once all are cleared", () => {
    const next = withFilter(p(""), "provider", ["aws"]);
    expect(effectiveFilters(next)).toEqual({ status: "open,reopened", result: "fail", provider: "aws" });
    const fewer = withFilter(withFilter(next, "status", []), "result", []);
    expect(effectiveFilters(fewer)).toEqual({ provider: "aws" });
    const none = withFilter(fewer, "provider", []);
    expect(none.get("all")).toBe("1");
    expect(effectiveFilters(none)).toEqual({});
    expect(effectiveFilters(clearedFilters(p("status=open")))).toEqual({});
  });
  it("maps the triage filters to the API's names", () => {
    const f = p("triage=false_positive,risk_pending&assignee=u1&new_since_previous_scan=true&q=bucket");
    expect(listQuery(f)).toMatchObject({ triage: "false_positive,risk_pending", assignee: "u1", new_since_previous_scan: "true", q: "bucket" });
    expect(bulkFilter(f)).toEqual({ triage: ["false_positive", "risk_pending"], assignee: ["u1"], new_since_previous_scan: true, q: "bucket" });
    expect(chips(f).find((c) => c.key === "new_since_previous_scan")?.value).toBe("yes");
  });
  it("sorts by a column, flipping the direction on a second click", () => {
    expect(sortOf(p(""))).toEqual({ sort: "severity", desc: true });
    const byTitle = withSort(p(""), "title");
    expect(sortOf(byTitle)).toEqual({ sort: "title", desc: false });
    expect(listQuery(byTitle)).toMatchObject({ sort: "title", order: "asc" });
    expect(sortOf(withSort(byTitle, "title"))).toEqual({ sort: "title", desc: true });
    expect(sortOf(withSort(byTitle, "last_seen"))).toEqual({ sort: "last_seen", desc: true });
    expect(sortOf(p("sort=bogus")).sort).toBe("severity");
  });
  it("filters by business tier, acting in bulk on the same tiers, and sorts the tightest tier first", () => {
    const f = p("business_tier=1,2");
    expect(listQuery(f)).toMatchObject({ business_tier: "1,2" });
    expect(bulkFilter(f)).toEqual({ business_tier: [1, 2] });
    expect(chips(f).map((c) => c.label)).toEqual(["business tier"]);
    const byTier = withSort(p(""), "business_tier");
    expect(sortOf(byTier)).toEqual({ sort: "business_tier", desc: false });
    expect(listQuery(byTier)).toMatchObject({ sort: "business_tier", order: "asc" });
    expect(sortOf(withSort(byTier, "business_tier"))).toEqual({ sort: "business_tier", desc: true });
  });
  it("exports the current filter", () => {
    expect(exportHref(p(""), "csv")).toBe("/api/v1/findings/export?format=csv&status=open%2Creopened&result=fail");
    expect(exportHref(p("all=1&sort=title"), "json")).toBe("/api/v1/findings/export?format=json");
  });
});
