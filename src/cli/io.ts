import type { Readable, Writable } from "node:stream";

/** The terminal a CLI command talks to; injected so tests drive the real commands in-process. */
export interface CliIo {
  stdout: Writable;
  stderr: Writable;
  stdin: Readable;
  env: NodeJS.ProcessEnv;
  /** Whether a person is at the keyboard (stdin and stdout are terminals). */
  interactive: boolean;
}

export function write(stream: Writable, text: string): void {
  stream.write(text.endsWith("\n") ? text : `${text}\n`);
}
