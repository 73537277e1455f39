import { describe, expect, it } from "vitest";
import { LocalHost } from "../../src/remote/local-host.js";
import { inventoryCommand } from "../../src/remote/shell.js";
import { PgidReportStripper, withPgidReport } from "../../src/remote/ssh-channel.js";

/** Feeds `input` through a stripper in chunks of `size` bytes. */
async function strip(input: Buffer, size: number) {
  const pgids: number[] = [];
  const stripper = new PgidReportStripper((pgid) => pgids.push(pgid));
  const out: Buffer[] = [];
  stripper.on("data", (chunk: Buffer) => out.push(chunk));
  const ended = new Promise((resolve) => stripper.on("end", resolve));
  for (let i = 0; i < input.length; i += size) stripper.write(input.subarray(i, i + size));
  stripper.end();
  await ended;
  return { stderr: Buffer.concat(out).toString("latin1"), pgids };
}

describe("the process-group report on stderr", () => {
  const cases: Array<[string, string, string, number[]]> = [
    ["alone", "\u0001rfb-pgid 4242\n", "", [4242]],
    ["before real stderr", "\u0001rfb-pgid 17\nerror: boom\n", "error: boom\n", [17]],
    [
      "after rc-file noise",
      "noise from .bashrc\n\u0001rfb-pgid 9\nreal\n",
      "noise from .bashrc\nreal\n",
      [9],
    ],
    ["absent", "plain stderr, no report\n", "plain stderr, no report\n", []],
    ["look-alike kept", "\u0001rfb-pgid x\n\u0001rfb\n", "\u0001rfb-pgid x\n\u0001rfb\n", []],
    ["only once", "\u0001rfb-pgid 1\n\u0001rfb-pgid 2\n", "\u0001rfb-pgid 2\n", [1]],
    ["mid-line is not a report", "abc\u0001rfb-pgid 5\n", "abc\u0001rfb-pgid 5\n", []],
    ["unterminated", "\u0001rfb-pgid 77", "\u0001rfb-pgid 77", []],
  ];

  for (const [name, input, stderr, pgids] of cases) {
    it(`is stripped correctly when ${name}, whatever the chunking`, async () => {
      for (const size of [1, 2, 3, 7, 1000]) {
        expect({ size, ...(await strip(Buffer.from(input, "latin1"), size)) }).toEqual({
          size,
          stderr,
          pgids,
        });
      }
    });
  }

  it("is the shell's process group, written before the command runs", async () => {
    const host = new LocalHost("pgid-check");
    try {
      const result = await host.exec(
        inventoryCommand(withPgidReport("ps -o pgid= -p $$ | tr -d ' '; echo after >&2")),
      );
      const stripped = await strip(Buffer.from(result.stderr, "latin1"), 1);
      expect(stripped).toEqual({ stderr: "after\n", pgids: [Number(result.stdout.trim())] });
    } finally {
      await host.close();
    }
  });
});
