#!/usr/bin/env node
import { run } from './main.js';

// `pnpm run dbconn -- ls` passes the `--` on.
const args = process.argv.slice(2);
process.exitCode = await run(args[0] === '--' ? args.slice(1) : args);
