#!/usr/bin/env node
// Starts the Slack bot exactly as `npm start` does (dist/ is built when the package is packed).
import "../dist/slack/main.js";
