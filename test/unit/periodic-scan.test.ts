import { afterEach, describe, expect, it, vi } from "vitest";
import { PeriodicScan } from "../../src/state/periodic-scan.js";
import { captureLog } from "../state/helpers.js";

/** A pass the test ends by hand; counts how many passes began. */
function heldPasses() {
  const ends: Array<(error?: Error) => void> = [];
  const pass = () =>
    new Promise<void>((resolve, reject) => {
      ends.push((error) => (error ? reject(error) : resolve()));
    });
  return { pass, ends, began: () => ends.length };
}

afterEach(() => {
  vi.useRealTimers();
});

describe("the periodic journal scan behind Recovery and outbox redelivery", () => {
  it("runs one pass at a time: a call during a pass shares it, a call after it starts another", async () => {
    const { log } = captureLog();
    const { pass, ends, began } = heldPasses();
    const scan = new PeriodicScan({ pass, log, failure: "scan failed" });
    const first = scan.run();
    const second = scan.run();
    expect(second).toBe(first);
    expect(began()).toBe(1);
    ends[0]?.();
    await first;
    void scan.run();
    expect(began()).toBe(2);
    ends[1]?.();
    await scan.stop();
  });

  it("logs a failed pass without rejecting, and the next tick scans again", async () => {
    vi.useFakeTimers();
    const { log, lines } = captureLog();
    const { pass, ends, began } = heldPasses();
    const scan = new PeriodicScan({ pass, log, failure: "cannot redeliver kept Slack writes" });
    const started = scan.start(1_000);
    ends[0]?.(new Error("journal unreachable"));
    await expect(started).resolves.toBeUndefined();
    expect(lines.map((line) => [line.msg, line.err])).toEqual([
      ["cannot redeliver kept Slack writes", "journal unreachable"],
    ]);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(began()).toBe(2);
    ends[1]?.();
    await scan.stop();
  });

  it("stop waits for the pass in progress and no pass starts after it", async () => {
    vi.useFakeTimers();
    const { log } = captureLog();
    const { pass, ends, began } = heldPasses();
    const scan = new PeriodicScan({ pass, log, failure: "scan failed" });
    void scan.start(1_000);
    let stopped = false;
    const stopping = scan.stop().then(() => {
      stopped = true;
    });
    await vi.advanceTimersByTimeAsync(0);
    expect(stopped).toBe(false);
    ends[0]?.();
    await stopping;
    await vi.advanceTimersByTimeAsync(10_000);
    expect(began()).toBe(1);
  });
});
