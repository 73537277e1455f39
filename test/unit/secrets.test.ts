import { describe, expect, it } from "vitest";
import { REDACTED, Secrets } from "../../src/secrets.js";

describe("Secrets.scrub", () => {
  it("masks every occurrence of a registered value", () => {
    const secrets = new Secrets();
    secrets.add("hunter22");
    expect(secrets.scrub("AUTH hunter22 failed; retry with hunter22")).toBe(
      `AUTH ${REDACTED} failed; retry with ${REDACTED}`,
    );
  });

  it("masks several registered values", () => {
    const secrets = new Secrets();
    secrets.add("redis-pass-1");
    secrets.add("xoxb-slack-token");
    expect(secrets.scrub("redis-pass-1 / xoxb-slack-token")).toBe(`${REDACTED} / ${REDACTED}`);
  });

  it("leaves text without secrets unchanged", () => {
    const secrets = new Secrets();
    secrets.add("hunter22");
    expect(secrets.scrub("nothing to see")).toBe("nothing to see");
  });

  it("masks the JSON-escaped form of a value with quotes and backslashes", () => {
    const secrets = new Secrets();
    const value = 'pa"ss\\w0rd';
    secrets.add(value);
    const json = JSON.stringify({ msg: `password is ${value}` });
    const scrubbed = secrets.scrub(json);
    expect(scrubbed).toBe(JSON.stringify({ msg: `password is ${REDACTED}` }));
    expect(JSON.parse(scrubbed).msg).not.toContain("w0rd");
  });

  it("masks the JSON-escaped form of a value with a newline and a tab", () => {
    const secrets = new Secrets();
    const value = "line1\nline2\tend";
    secrets.add(value);
    expect(secrets.scrub(JSON.stringify([value]))).toBe(`["${REDACTED}"]`);
    expect(secrets.scrub(`raw ${value}`)).toBe(`raw ${REDACTED}`);
  });

  it("ignores values shorter than 4 characters", () => {
    const secrets = new Secrets();
    secrets.add("abc");
    expect(secrets.scrub("abc abcd")).toBe("abc abcd");
  });

  it("registers a value of exactly 4 characters", () => {
    const secrets = new Secrets();
    secrets.add("abcd");
    expect(secrets.scrub("x abcd y")).toBe(`x ${REDACTED} y`);
  });

  it("ignores undefined and empty values", () => {
    const secrets = new Secrets();
    secrets.add(undefined);
    secrets.add("");
    expect(secrets.scrub("text")).toBe("text");
  });

  // A secret that contains a shorter registered secret is cut by the shorter one first when
  // that one was registered earlier, and the rest of the longer secret then shows.
  it("masks a secret completely when it contains another, earlier-registered secret", () => {
    const secrets = new Secrets();
    secrets.add("tiger");
    secrets.add("tiger-lily-9931");
    expect(secrets.scrub("token tiger-lily-9931")).not.toContain("lily-9931");
  });
});

describe("Secrets.fromEnv", () => {
  it("returns the variable's value and registers it", () => {
    const secrets = new Secrets();
    const value = secrets.fromEnv({ REDIS_PASSWORD: "s3cr3t-pw" }, "REDIS_PASSWORD");
    expect(value).toBe("s3cr3t-pw");
    expect(secrets.scrub("pw=s3cr3t-pw")).toBe(`pw=${REDACTED}`);
  });

  it("returns undefined for an unset variable without registering anything", () => {
    const secrets = new Secrets();
    expect(secrets.fromEnv({}, "MISSING")).toBeUndefined();
    expect(secrets.scrub("undefined")).toBe("undefined");
  });

  it("returns undefined when no variable name is given", () => {
    const secrets = new Secrets();
    expect(secrets.fromEnv({ "": "value" }, undefined)).toBeUndefined();
    expect(secrets.fromEnv({ "": "value" }, "")).toBeUndefined();
    expect(secrets.scrub("value")).toBe("value");
  });
});
