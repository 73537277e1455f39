#!/usr/bin/env node
// Runs the compiled CLI (dist/ is built by `npm run build`, and when the package is packed).
import { main } from "../dist/cli/main.js";

await main();
// Open sockets must not keep a finished command alive.
process.exit(process.exitCode ?? 0);
