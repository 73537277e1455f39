// A lean load generator in its own process: sends the given signed requests all at once with
// plain node:http (no fetch machinery on the hot path) and prints each one's time to the
// response headers of an HTTP 200, in milliseconds.
import { request } from "node:http";

const jobs = JSON.parse(
  await new Promise((resolve) => {
    let text = "";
    process.stdin.on("data", (chunk) => {
      text += chunk;
    });
    process.stdin.on("end", () => resolve(text));
  }),
);
const agent = new (await import("node:http")).Agent({ keepAlive: true, maxSockets: Infinity });

function send(job) {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const req = request(
      job.url,
      {
        method: "POST",
        agent,
        headers: { ...job.headers, "Content-Length": Buffer.byteLength(job.body) },
      },
      (res) => {
        res.resume();
        res.on("end", () => resolve({ status: res.statusCode, ms: performance.now() - started }));
      },
    );
    req.on("error", reject);
    req.end(job.body);
  });
}

// Warm the connections first (as Slack's would be), then fire everything at once.
await Promise.all(
  jobs.map((job) =>
    send({
      ...job,
      body: "warmup=1",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
    }).catch(() => undefined),
  ),
);
const results = await Promise.all(jobs.map(send));
process.stdout.write(JSON.stringify(results));
agent.destroy();
