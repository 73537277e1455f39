import { describe, expect, it } from "vitest";
import { redisCommandText } from "../../src/redis/command-text.js";

describe("redisCommandText: secrets", () => {
  it("masks every argument of AUTH, with or without a username", () => {
    expect(redisCommandText(["AUTH", "hunter2"])).toBe("AUTH [redacted]");
    expect(redisCommandText(["AUTH", "default", "hunter2"])).toBe("AUTH [redacted]");
  });

  it("masks AUTH whatever the case of the command name", () => {
    expect(redisCommandText(["auth", "hunter2"])).toBe("AUTH [redacted]");
  });

  it("masks every argument of HELLO (it may carry AUTH user pass)", () => {
    const text = redisCommandText(["hello", "3", "AUTH", "default", "hunter2", "SETNAME", "bot"]);
    expect(text).toBe("HELLO [redacted]");
    expect(text).not.toContain("hunter2");
  });

  it.each(["requirepass", "masterauth", "REQUIREPASS", "MasterAuth"])(
    "masks the value of CONFIG SET %s",
    (parameter) => {
      const text = redisCommandText(["CONFIG", "SET", parameter, "s3cr3t value"]);
      expect(text).toBe(`CONFIG SET ${parameter} [redacted]`);
    },
  );

  it("masks the value of a lower-case config set requirepass", () => {
    expect(redisCommandText(["config", "set", "requirepass", "hunter2"])).toBe(
      "CONFIG set requirepass [redacted]",
    );
  });

  it("shows the value of an ordinary CONFIG SET", () => {
    expect(redisCommandText(["CONFIG", "SET", "appendonly", "yes"])).toBe(
      "CONFIG SET appendonly yes",
    );
  });

  it("shows the parameter name of CONFIG GET requirepass (it carries no value)", () => {
    expect(redisCommandText(["CONFIG", "GET", "requirepass"])).toBe("CONFIG GET requirepass");
  });

  // Redis 7 accepts several parameter/value pairs in one CONFIG SET; only the first pair's
  // value is considered for masking.
  it("masks a requirepass value that is not the first pair of a CONFIG SET", () => {
    const text = redisCommandText(["CONFIG", "SET", "appendonly", "yes", "requirepass", "hunter2"]);
    expect(text).not.toContain("hunter2");
  });
});

describe("redisCommandText: quoting", () => {
  it("upper-cases the command name and leaves plain arguments bare", () => {
    expect(redisCommandText(["replicaof", "10.0.0.13", 6379])).toBe("REPLICAOF 10.0.0.13 6379");
  });

  it("leaves keys, paths and user@host arguments bare", () => {
    expect(redisCommandText(["SET", "config:redis:cache-prod", "/var/lib/redis/dump.rdb"])).toBe(
      "SET config:redis:cache-prod /var/lib/redis/dump.rdb",
    );
    expect(redisCommandText(["GET", "user@host_1"])).toBe("GET user@host_1");
  });

  it("quotes an argument with spaces", () => {
    expect(redisCommandText(["SET", "k", "two words"])).toBe('SET k "two words"');
  });

  it("quotes and escapes an argument with double quotes", () => {
    expect(redisCommandText(["SET", "k", 'say "hi"'])).toBe('SET k "say \\"hi\\""');
  });

  it("quotes an argument with a single quote", () => {
    expect(redisCommandText(["SET", "k", "it's"])).toBe(`SET k "it's"`);
  });

  it("quotes a JSON value so that it reads back as one argument", () => {
    const value = JSON.stringify({ host: "10.0.0.13", port: 6379 });
    const text = redisCommandText(["SET", "config:redis:x", value]);
    expect(text).toBe(`SET config:redis:x ${JSON.stringify(value)}`);
  });

  it("escapes a newline instead of breaking the line", () => {
    const text = redisCommandText(["SET", "k", "a\nb"]);
    expect(text).toBe('SET k "a\\nb"');
    expect(text).not.toContain("\n");
  });

  it("shows an empty argument as a pair of quotes", () => {
    expect(redisCommandText(["SET", "k", ""])).toBe('SET k ""');
  });

  it("shows numbers as numbers", () => {
    expect(redisCommandText(["FAILOVER", "TO", "10.0.0.12", 6379, "TIMEOUT", 10000])).toBe(
      "FAILOVER TO 10.0.0.12 6379 TIMEOUT 10000",
    );
  });
});
