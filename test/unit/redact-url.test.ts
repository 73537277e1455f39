import { describe, expect, it } from "vitest";
import { redactUrl } from "../../src/plan/planner.js";

describe("redactUrl (src/plan/planner.ts)", () => {
  it("leaves a URL without credentials unchanged", () => {
    expect(redactUrl("redis://10.0.0.5:6379/0")).toBe("redis://10.0.0.5:6379/0");
  });

  it("leaves a username without a password unchanged", () => {
    expect(redactUrl("redis://bot@10.0.0.5:6379/0")).toBe("redis://bot@10.0.0.5:6379/0");
  });

  it("hides a password given without a username", () => {
    const shown = redactUrl("redis://:hunter2@10.0.0.5:6379/0");
    expect(shown).toBe("redis://:redacted@10.0.0.5:6379/0");
  });

  it("hides the password but keeps the username, host, port and db", () => {
    expect(redactUrl("rediss://default:hunter2@cfg.internal:6380/1")).toBe(
      "rediss://default:redacted@cfg.internal:6380/1",
    );
  });

  it("hides a percent-encoded password", () => {
    const shown = redactUrl("redis://:p%40ss%2Fw0rd@10.0.0.5:6379/0");
    expect(shown).not.toContain("w0rd");
    expect(shown).toBe("redis://:redacted@10.0.0.5:6379/0");
  });

  it("hides a password containing a raw @", () => {
    const shown = redactUrl("redis://:p@ssw0rd@10.0.0.5:6379/0");
    expect(shown).not.toContain("ssw0rd");
  });

  it("hides a password with an IPv6 host", () => {
    expect(redactUrl("redis://:hunter2@[fd00::5]:6379/0")).toBe(
      "redis://:redacted@[fd00::5]:6379/0",
    );
  });

  it("hides the credentials of a URL that does not parse", () => {
    const shown = redactUrl("redis://:hunter2@10.0.0.5:port/0");
    expect(shown).toBe("redis://[redacted]@10.0.0.5:port/0");
  });

  it("hides a password containing a raw # or ?", () => {
    expect(redactUrl("redis://:hun#ter2@10.0.0.5:6379/0")).not.toContain("ter2");
    expect(redactUrl("redis://:hun?ter2@10.0.0.5:6379/0")).not.toContain("ter2");
  });

  // A base64-style password (openssl rand -base64) pasted unencoded: the URL does not parse, and
  // the fallback pattern stops at the first "/", so the whole password is shown.
  it("hides a password containing a raw /", () => {
    expect(redactUrl("redis://:Ab3/xY+z9Q==@10.0.0.5:6379/0")).not.toContain("xY+z9Q");
  });
});
