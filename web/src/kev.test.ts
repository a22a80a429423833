import { describe, expect, it } from "vitest";
import { kevErrorSummary } from "./kev";

describe("kevErrorSummary", () => {
  it("says an unreachable catalog plainly, without the Go error", () => {
    const raw = 'fetch KEV catalog: Get "http://127.0.0.1:1/known_exploited_vulnerabilities.json": dial tcp 127.0.0.1:1: connect: connection refused';
    const s = kevErrorSummary(raw);
    expect(s).toMatch(/cannot reach the catalog URL/);
    expect(s).not.toMatch(/dial tcp|connection refused|127\.0\.0\.1/);
  });
  it("tells DNS, HTTP errors and a wrong file apart", () => {
    expect(kevErrorSummary("Get \"https://www.cisa.gov/x\": dial tcp: lookup www.cisa.gov: no such host")).toMatch(/resolve/);
    expect(kevErrorSummary("KEV catalog: unexpected status 503 Service Unavailable")).toMatch(/answered with an error/);
    expect(kevErrorSummary("decode KEV catalog: invalid character '<' looking for beginning of value")).toMatch(/not a CISA KEV catalog/);
  });
  it("falls back to a general sentence", () => {
    expect(kevErrorSummary("something odd")).toMatch(/last CISA KEV sync failed/);
  });
});
