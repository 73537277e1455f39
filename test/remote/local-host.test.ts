import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LocalHost } from "../../src/remote/local-host.js";
import { sh } from "../../src/remote/shell.js";
import { makeTempRoot, type TempRoot } from "../harness/temp.js";
import { goneOn, killedPids, remoteHostContract } from "./host-contract.js";
import { waitFor } from "./wait-for.js";

let temp: TempRoot;
let host: LocalHost;

beforeAll(async () => {
  temp = await makeTempRoot("local-host");
  host = new LocalHost("demo-1");
});

/** A killed command's children are orphaned to init, which in this VM reaps them only slowly. */
function reapedByInit(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return !stat.includes("(sleep) Z");
  } catch {
    return true;
  }
}

afterAll(async () => {
  await host?.close();
  await temp?.cleanup();
  await waitFor("killed sleeps to be reaped", () => [...killedPids].every(reapedByInit), 15_000);
});

describe("LocalHost", () => {
  it("is addressed as local and runs commands with /bin/sh on this machine", async () => {
    expect(host.address).toBe("local");
    expect(host.name).toBe("demo-1");
    const result = await host.exec(sh`echo $PPID; readlink /proc/$$/exe`);
    const [parent, shell] = result.stdout.trim().split("\n");
    expect(Number(parent)).toBe(process.pid);
    expect(shell).toMatch(/sh$/);
  });

  it("close() kills the commands still running and waits for them", async () => {
    const closing = new LocalHost("demo-2");
    let pid = 0;
    const running = closing.exec(sh`sleep 1000 & echo $!; wait`, {
      onOutput: (chunk) => {
        pid = Number(chunk.trim());
      },
    });
    await waitFor("the command to start", () => pid > 0);
    await closing.close();
    expect(await running).toMatchObject({ code: null, signal: "SIGKILL" });
    expect(await goneOn(host, pid)).toBe(true);
  });

  remoteHostContract({ host: () => host, dir: () => temp.path });
});
