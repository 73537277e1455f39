import { createInterface } from "node:readline/promises";
import type { CliIo } from "./io.js";

/** Asks the operator to type the cluster name: a deliberate act, not a reflexive "y". */
export async function confirmByTypingName(io: CliIo, cluster: string): Promise<boolean> {
  const prompt = createInterface({ input: io.stdin, output: io.stdout, terminal: false });
  try {
    const answer = await prompt.question(
      `\nType the cluster name (${cluster}) to run this plan, anything else to cancel: `,
    );
    return answer.trim() === cluster;
  } finally {
    prompt.close();
  }
}
