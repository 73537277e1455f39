/**
 * Every secret value the process holds (Redis passwords, key passphrases, Slack tokens) is
 * registered here, and every text that leaves the process — log lines, CLI output, Slack
 * messages — passes through `scrub`, so a secret echoed by a remote command is masked too.
 */
export const REDACTED = "[redacted]";

export class Secrets {
  readonly #values = new Set<string>();

  add(value: string | undefined): void {
    // Very short values would mask ordinary text and are no real secret anyway.
    if (value && value.length >= 4) {
      this.#values.add(value);
      const jsonEscaped = JSON.stringify(value).slice(1, -1);
      if (jsonEscaped !== value) this.#values.add(jsonEscaped);
    }
  }

  /** Reads an environment variable and registers its value as a secret. */
  fromEnv(env: NodeJS.ProcessEnv, name: string | undefined): string | undefined {
    if (!name) return undefined;
    const value = env[name];
    this.add(value);
    return value;
  }

  scrub(text: string): string {
    let out = text;
    // Longest first: a secret containing another must be masked whole, not around the shorter one.
    for (const value of [...this.#values].sort((a, b) => b.length - a.length)) {
      if (out.includes(value)) out = out.replaceAll(value, REDACTED);
    }
    return out;
  }
}
