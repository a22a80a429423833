import { describe, expect, it } from "vitest";
import {
  buildTree, checkFindingsHref, controlHref, expiryFromDate, filterTree, flatten, formatScore, frameworkHref, importPath, isExpired,
  parentUrns, scoreColor, sortEvidence, statusColor, statusCounts, statusLabel, type FrameworkNode, type TreeNode,
} from "./compliance";

function node(urn: string, parent: string, status: FrameworkNode["status"], assessable = true, name = urn.toUpperCase()): FrameworkNode {
  return { urn, parent_urn: parent, ref_id: urn.toUpperCase(), name, description: "", depth: parent ? 2 : 1, assessable, weight: 1, status, score: null };
}

// A framework as the API sends it: document order, parents first.
const nodes = [
  node("gv", "", "partial", false, "Govern"),
  node("gv.oc", "gv", "partial", false, "Organizational context"),
  node("gv.oc-01", "gv.oc", "passing"),
  node("gv.oc-02", "gv.oc", "failing", true, "Mission understood"),
  node("pr", "", "not_assessed", false, "Protect"),
  node("pr.aa-01", "pr", "not_assessed"),
  node("orphan", "missing-parent", "manual"),
];

const refs = (ts: TreeNode[]): unknown[] => ts.map((t) => (t.children.length ? [t.node.urn, refs(t.children)] : t.node.urn));

describe("buildTree", () => {
  it("nests children under their parents in document order", () => {
    expect(refs(buildTree(nodes))).toEqual([["gv", [["gv.oc", ["gv.oc-01", "gv.oc-02"]]]], ["pr", ["pr.aa-01"]], "orphan"]);
  });
  it("keeps a node whose parent is missing as a root", () => {
    expect(buildTree([node("a", "zz", "passing")]).map((t) => t.node.urn)).toEqual(["a"]);
  });
});

describe("filterTree", () => {
  const roots = buildTree(nodes);
  it("returns the tree unchanged without a filter", () => {
    expect(filterTree(roots, { statuses: [], text: " " })).toBe(roots);
  });
  it("keeps assessable requirements of the statuses and their ancestors", () => {
    expect(refs(filterTree(roots, { statuses: ["failing"], text: "" }))).toEqual([["gv", [["gv.oc", ["gv.oc-02"]]]]]);
    expect(refs(filterTree(roots, { statuses: ["failing", "not_assessed"], text: "" }))).toEqual([["gv", [["gv.oc", ["gv.oc-02"]]]], ["pr", ["pr.aa-01"]]]);
  });
  it("never matches a section by its own rolled-up status", () => {
    expect(refs(filterTree(roots, { statuses: ["partial"], text: "" }))).toEqual([]);
  });
  it("matches text in the reference or name, keeping a matching section whole", () => {
    expect(refs(filterTree(roots, { statuses: [], text: "mission" }))).toEqual([["gv", [["gv.oc", ["gv.oc-02"]]]]]);
    expect(refs(filterTree(roots, { statuses: [], text: "protect" }))).toEqual([["pr", ["pr.aa-01"]]]);
  });
  it("combines status and text", () => {
    expect(refs(filterTree(roots, { statuses: ["passing"], text: "mission" }))).toEqual([]);
  });
});

describe("flatten and parentUrns", () => {
  const roots = buildTree(nodes);
  it("shows roots only when nothing is expanded", () => {
    expect(flatten(roots, new Set()).map((r) => r.t.node.urn)).toEqual(["gv", "pr", "orphan"]);
  });
  it("shows the expanded branches with their depth", () => {
    const rows = flatten(roots, new Set(["gv", "gv.oc"]));
    expect(rows.map((r) => `${r.level}:${r.t.node.urn}`)).toEqual(["0:gv", "1:gv.oc", "2:gv.oc-01", "2:gv.oc-02", "0:pr", "0:orphan"]);
  });
  it("expands all by the nodes with children", () => {
    expect(parentUrns(roots)).toEqual(["gv", "gv.oc", "pr"]);
  });
});

describe("status and score", () => {
  it("names and colours every status", () => {
    expect(statusColor("passing")).toBe("green");
    expect(statusColor("failing")).toBe("red");
    expect(statusColor("partial")).toBe("yellow");
    expect(statusColor("manual")).toBe("blue");
    expect(statusColor("not_assessed")).toBe("gray");
    expect(statusColor("unknown")).toBe("gray");
    expect(statusLabel("not_assessed")).toBe("Not assessed");
  });
  it("formats a score as a percentage, a dash when not assessed", () => {
    expect(formatScore(80)).toBe("80%");
    expect(formatScore(66.6666)).toBe("66.7%");
    expect(formatScore(99.96)).toBe("100%");
    expect(formatScore(0)).toBe("0%");
    expect(formatScore(null)).toBe("—");
    expect(formatScore(undefined)).toBe("—");
    expect(formatScore(NaN)).toBe("—");
  });
  it("colours a score from red to green, gray when not assessed", () => {
    expect(scoreColor(100)).toBe("green.7");
    expect(scoreColor(80)).toBe("green.5");
    expect(scoreColor(60)).toBe("yellow.6");
    expect(scoreColor(30)).toBe("orange.6");
    expect(scoreColor(0)).toBe("red.7");
    expect(scoreColor(null)).toBe("gray.4");
  });
  it("counts every status, zero where the API has none", () => {
    expect(statusCounts({ failing: 2, passing: 5 })).toEqual([
      { status: "failing", n: 2 }, { status: "partial", n: 0 }, { status: "passing", n: 5 }, { status: "manual", n: 0 }, { status: "not_assessed", n: 0 },
    ]);
  });
});

describe("links and forms", () => {
  it("links a check to its open findings through the search the findings page reads", () => {
    expect(checkFindingsHref("iam_root_mfa_enabled", "prowler")).toBe("/findings?status=open,reopened&tool=prowler&check=iam_root_mfa_enabled");
    expect(checkFindingsHref("s3 check")).toBe("/findings?status=open,reopened&check=s3%20check");
  });
  it("escapes framework and control IDs, URNs included", () => {
    expect(controlHref("urn:intuitem:risk:req_node:scf-2025.2.2:gov-01.1")).toBe("/compliance/controls?id=urn%3Aintuitem%3Arisk%3Areq_node%3Ascf-2025.2.2%3Agov-01.1");
    expect(frameworkHref("f1", "urn:x")).toBe("/compliance/frameworks/f1?open=urn%3Ax");
  });
  it("sends a workbook to the SCF route, anything else to the library route", () => {
    expect(importPath("SCF 2025.3.1.XLSX")).toBe("/api/v1/compliance/scf/import");
    expect(importPath("nist-csf-2.0.yaml")).toBe("/api/v1/compliance/frameworks/import");
    expect(importPath("nist_csf_2.0_aws.json")).toBe("/api/v1/compliance/frameworks/import");
  });
  it("flags an attestation as expired by the server's flag or its date", () => {
    const now = new Date("2026-06-01T00:00:00Z");
    expect(isExpired({ expired: true, expires_at: "2099-01-01T00:00:00Z" }, now)).toBe(true);
    expect(isExpired({ expired: false, expires_at: "2026-05-31T23:59:59Z" }, now)).toBe(true);
    expect(isExpired({ expired: false, expires_at: "2026-06-02T00:00:00Z" }, now)).toBe(false);
    expect(expiryFromDate("2027-01-31")).toBe("2027-01-31T23:59:59Z");
  });
});

describe("sortEvidence", () => {
  const ev = (check_id: string, passed: number, failed: number, muted = 0) =>
    ({ tool: "prowler", check_id, coverage: "full" as const, via: "", passed, failed, muted, manual: 0 });
  it("lists failing checks first, most failures first, then checks with results, then the rest", () => {
    const got = sortEvidence([ev("a", 0, 0), ev("b", 3, 0), ev("c", 1, 1), ev("d", 0, 5), ev("e", 0, 0, 2)]);
    expect(got.map((e) => e.check_id)).toEqual(["d", "c", "b", "e", "a"]);
  });
});
