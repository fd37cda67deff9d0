// Shared by the browser tests (kept out of test/, where node's runner would take it for a test
// file): timeouts from the environment, a log's tail for failure messages, child processes that
// are killed when the test process exits, and Chromium as these tests launch it.
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

/** A timeout in ms from the environment variable `name`, or `fallback`. */
export const envMs = (name, fallback) => {
  const v = Number(process.env[name]);
  return Number.isFinite(v) && v > 0 ? v : fallback;
};

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** The last `lines` lines of a log file, for error messages. */
export const tail = (file, lines = 40) => {
  try {
    return readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
};

const children = new Set();
process.on('exit', () => {
  for (const c of children) {
    try {
      c.kill('SIGKILL');
    } catch {
      // already gone
    }
  }
});

/** Kills `child` when the test process exits; returns a getter of its exit ({code, signal} or null). */
export function track(child) {
  children.add(child);
  let exited = null;
  child.on('exit', (code, signal) => {
    exited = { code, signal };
    children.delete(child);
  });
  return () => exited;
}

/** Headless Debian chromium ($CHROMIUM_BIN), with `*.localhost` mapped to loopback. */
export function launchChromium(timeout) {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_BIN ?? '/usr/bin/chromium',
    // Root needs --no-sandbox; Chromium resolves *.localhost to loopback by itself, the rule
    // only makes that explicit.
    args: ['--no-sandbox', '--host-resolver-rules=MAP *.localhost 127.0.0.1'],
    timeout,
  });
}
