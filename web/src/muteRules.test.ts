import { describe, expect, it } from "vitest";
import { emptyMatchers, hasMatcher, likeThisHref, matchersFromSearch, ruleBody } from "./muteRules";

const finding = { check_id: "s3_bucket_public", tool: "prowler", account_uid: "111122223333", region: "eu-west-1", resource_uid: "arn:aws:s3:::logs" };

describe("a rule from a finding", () => {
  it("mutes the same check in the same account and region", () => {
    const href = likeThisHref(finding);
    expect(href).toBe("/mute-rules?check_pattern=s3_bucket_public&tool=prowler&account_uid=111122223333&region=eu-west-1");
    const m = matchersFromSearch(new URL(href, "http://x").searchParams);
    expect(m).toEqual({ ...emptyMatchers(), check_pattern: "s3_bucket_public", tool: "prowler", account_uid: "111122223333", region: "eu-west-1" });
  });
  it("can be narrowed to the finding's resource", () => {
    const m = matchersFromSearch(new URL(likeThisHref(finding, true), "http://x").searchParams);
    expect(m.resource_pattern).toBe("arn:aws:s3:::logs");
  });
  it("leaves out what the finding does not have", () => {
    expect(likeThisHref({ ...finding, account_uid: "", region: "" })).toBe("/mute-rules?check_pattern=s3_bucket_public&tool=prowler");
  });
});

describe("a rule's matchers", () => {
  it("need at least one, and not a bare * check", () => {
    expect(hasMatcher(emptyMatchers())).toBe(false);
    expect(hasMatcher({ ...emptyMatchers(), check_pattern: " * " })).toBe(false);
    expect(hasMatcher({ ...emptyMatchers(), check_pattern: "*", region: "eu-west-1" })).toBe(true);
    expect(hasMatcher({ ...emptyMatchers(), tag: "env=dev" })).toBe(true);
  });
  it("become the API's body, trimmed, with the expiry at the end of the chosen day", () => {
    const body = ruleBody({ ...emptyMatchers(), check_pattern: " s3_* ", region: "" }, " sandbox ", "2027-01-31");
    expect(body.check_pattern).toBe("s3_*");
    expect(body.reason).toBe("sandbox");
    expect(body).not.toHaveProperty("region");
    expect(new Date(body.expires_at).getDate()).toBe(31);
    expect(ruleBody({ ...emptyMatchers(), tool: "zap" })).toEqual({ tool: "zap" });
  });
});
