import { describe, expect, it } from "vitest";
import { createLogger, type Logger } from "../../src/log/logger.js";
import { Secrets } from "../../src/secrets.js";

const SECRET = "Sup3r-s3cret-pw";

/** A logger writing into an array, with SECRET (and any extra values) registered. */
function capture(extraSecrets: string[] = []): { log: Logger; lines: string[] } {
  const secrets = new Secrets();
  secrets.add(SECRET);
  for (const value of extraSecrets) secrets.add(value);
  const lines: string[] = [];
  const log = createLogger({
    secrets,
    level: "debug",
    destination: { write: (line: string) => void lines.push(line) },
  });
  return { log, lines };
}

function only(lines: string[]): Record<string, unknown> {
  expect(lines).toHaveLength(1);
  return JSON.parse(lines[0] ?? "") as Record<string, unknown>;
}

describe("createLogger: registered secrets never reach a log line", () => {
  it("masks a secret in the message", () => {
    const { log, lines } = capture();
    log.info(`connecting with password ${SECRET}`);
    expect(lines.join("")).not.toContain(SECRET);
    expect(only(lines).msg).toBe("connecting with password [redacted]");
  });

  it("masks a secret passed as a format argument", () => {
    const { log, lines } = capture();
    log.warn("AUTH %s refused", SECRET);
    expect(only(lines).msg).toBe("AUTH [redacted] refused");
  });

  it("masks a secret in a deeply nested field whose name is not sensitive", () => {
    const { log, lines } = capture();
    log.info({ request: { step: { output: [`echo ${SECRET}`] } } }, "step output");
    expect(lines.join("")).not.toContain(SECRET);
    expect(only(lines).request).toEqual({ step: { output: ["echo [redacted]"] } });
  });

  it("masks a secret in an error's message and stack", () => {
    const { log, lines } = capture();
    log.error({ err: new Error(`WRONGPASS for ${SECRET}`) }, "redis refused");
    expect(lines.join("")).not.toContain(SECRET);
    const err = only(lines).err as { message: string; stack: string };
    expect(err.message).toBe("WRONGPASS for [redacted]");
    expect(err.stack).toContain("WRONGPASS for [redacted]");
  });

  it("masks a secret in an error logged on its own", () => {
    const { log, lines } = capture();
    log.error(new Error(`ssh: bad passphrase ${SECRET}`));
    expect(lines.join("")).not.toContain(SECRET);
    expect(only(lines).msg).toBe("ssh: bad passphrase [redacted]");
  });

  it("masks a secret in a child logger's bindings", () => {
    const { log, lines } = capture();
    log.child({ url: `redis://:${SECRET}@10.0.0.5:6379` }).info("discovery");
    expect(lines.join("")).not.toContain(SECRET);
    expect(only(lines).url).toBe("redis://:[redacted]@10.0.0.5:6379");
  });

  it("masks a secret with quotes and backslashes, which JSON escapes", () => {
    const tricky = 'pa"ss\\w0rd';
    const { log, lines } = capture([tricky]);
    log.info({ detail: `value ${tricky}` }, `and ${tricky}`);
    const line = only(lines);
    expect(JSON.stringify(line)).not.toContain("w0rd");
    expect(line.detail).toBe("value [redacted]");
    expect(line.msg).toBe("and [redacted]");
  });

  it("still logs text that holds no secret", () => {
    const { log, lines } = capture();
    log.info({ host: "machine-a" }, "step started");
    expect(only(lines)).toMatchObject({
      msg: "step started",
      host: "machine-a",
      app: "redis-failover-bot",
    });
  });
});

describe("createLogger: sensitive field names are redacted whatever their value", () => {
  it.each(["password", "passphrase", "privateKey", "token", "signingSecret", "authorization"])(
    "redacts a top-level %s field",
    (field) => {
      const { log, lines } = capture();
      log.info({ [field]: "not-a-registered-secret" }, "x");
      expect(lines.join("")).not.toContain("not-a-registered-secret");
      expect(only(lines)[field]).toBe("[redacted]");
    },
  );

  it.each(["password", "passphrase", "privateKey", "token", "signingSecret", "authorization"])(
    "redacts a %s field nested one level",
    (field) => {
      const { log, lines } = capture();
      log.info({ options: { [field]: "not-a-registered-secret", host: "h" } }, "x");
      expect(lines.join("")).not.toContain("not-a-registered-secret");
      expect(only(lines).options).toEqual({ [field]: "[redacted]", host: "h" });
    },
  );

  it("redacts headers.authorization", () => {
    const { log, lines } = capture();
    log.info({ headers: { authorization: "Bearer xoxb-1", accept: "json" } }, "request");
    expect(only(lines).headers).toEqual({ authorization: "[redacted]", accept: "json" });
  });

  it("leaves other field names alone", () => {
    const { log, lines } = capture();
    log.info({ passwordEnv: "REDIS_PASSWORD" }, "x");
    expect(only(lines).passwordEnv).toBe("REDIS_PASSWORD");
  });
});
