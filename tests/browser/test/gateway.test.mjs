// Headless Chromium (Debian's chromium, driven by playwright-core) loads canister pages through
// the localnet server's HTTP gateway: a certified page is shown, a response whose body does not
// match its certification is refused with the gateway's error page, the raw domain skips
// verification, and an upgraded request goes through http_request_update.
//
// Self-contained: starts `target/debug/localnet serve` on a free port with a temporary state
// directory, installs target/canisters/certified_page.wasm.gz with the install_canister example
// (ic-agent over the server's IC HTTP interface), then drives the browser. Every wait is bounded
// and the server is stopped at the end (or when the process exits). Screenshots of the
// certified page and of the refusal go to $SCREENSHOT_DIR (default: the OS temp directory).
import { describe, before, after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFile } from 'node:child_process';
import { existsSync, mkdtempSync, mkdirSync, openSync, closeSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT, envMs, sleep, tail, track, launchChromium } from '../lib/support.mjs';

const START_TIMEOUT_MS = envMs('LOCALNET_START_TIMEOUT_MS', 60_000);
const INSTALL_TIMEOUT_MS = envMs('INSTALL_TIMEOUT_MS', 300_000);
const PAGE_TIMEOUT_MS = envMs('PAGE_TIMEOUT_MS', 60_000);

const LOCALNET_BIN = process.env.LOCALNET_BIN ?? join(REPO_ROOT, 'target', 'debug', 'localnet');
const INSTALL_BIN = process.env.INSTALL_CANISTER_BIN ?? join(REPO_ROOT, 'target', 'debug', 'examples', 'install_canister');
const WASM = join(process.env.CANISTER_WASM_DIR ?? join(REPO_ROOT, 'target', 'canisters'), 'certified_page.wasm.gz');
const SCREENSHOT_DIR = process.env.SCREENSHOT_DIR ?? tmpdir();


/** `localnet serve --port 0 --port-file F --state-dir D`; resolves once the port file is written. */
async function startServer() {
  for (const [what, path] of [['the localnet server', LOCALNET_BIN], ['the install_canister example', INSTALL_BIN], ['certified_page', WASM]]) {
    if (!existsSync(path)) throw new Error(`${what} is missing at ${path}: run scripts/test-browser.sh (it builds everything)`);
  }
  const tmp = mkdtempSync(join(tmpdir(), 'localnet-browser-'));
  const stateDir = join(tmp, 'state');
  mkdirSync(stateDir);
  const portFile = join(tmp, 'port');
  const log = join(tmp, 'server.log');
  const fd = openSync(log, 'a');
  const child = spawn(LOCALNET_BIN, ['serve', '--port', '0', '--port-file', portFile, '--state-dir', stateDir], {
    cwd: REPO_ROOT,
    stdio: ['ignore', fd, fd],
  });
  closeSync(fd);
  const exitOf = track(child);
  const deadline = Date.now() + START_TIMEOUT_MS;
  let port;
  while (port === undefined) {
    if (existsSync(portFile)) {
      const n = Number(readFileSync(portFile, 'utf8').trim());
      if (n > 0) port = n;
    }
    if (exitOf()) throw new Error(`the server exited (${JSON.stringify(exitOf())}) before writing its port file:\n${tail(log)}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`no port file after ${START_TIMEOUT_MS} ms:\n${tail(log)}`);
    }
    await sleep(20);
  }
  const stop = async () => {
    if (!exitOf()) {
      child.kill('SIGTERM');
      for (let i = 0; i < 100 && !exitOf(); i++) await sleep(50);
      if (!exitOf()) child.kill('SIGKILL');
    }
    if (!process.env.KEEP_LOCALNET_TMP) rmSync(tmp, { recursive: true, force: true });
  };
  return { port, url: `http://127.0.0.1:${port}`, stateDir, log, stop };
}

/** Installs certified_page through the server's IC HTTP interface; returns the canister id. */
function installCertifiedPage(server) {
  const args = ['--url', server.url, '--root-key', join(server.stateDir, 'root_key.der'), '--wasm', WASM];
  return new Promise((resolvePromise, reject) => {
    execFile(INSTALL_BIN, args, { timeout: INSTALL_TIMEOUT_MS, cwd: REPO_ROOT }, (err, stdout, stderr) => {
      if (err) {
        reject(new Error(`install_canister failed: ${err.message}\n${stderr}\nserver log:\n${tail(server.log)}`));
        return;
      }
      const id = stdout.trim();
      if (!/^[a-z0-9]{5}(-[a-z0-9]{1,5})+$/.test(id)) reject(new Error(`install_canister printed ${JSON.stringify(stdout)}`));
      else resolvePromise(id);
    });
  });
}

describe('the HTTP gateway in headless Chromium', { timeout: START_TIMEOUT_MS + INSTALL_TIMEOUT_MS + 10 * PAGE_TIMEOUT_MS }, () => {
  let server;
  let id;
  let browser;
  let page;
  const at = (path, raw = false) => `http://${id}.${raw ? 'raw.' : ''}localhost:${server.port}${path}`;

  before(async () => {
    server = await startServer();
    id = await installCertifiedPage(server);
    browser = await launchChromium(PAGE_TIMEOUT_MS);
    page = await browser.newPage();
    page.setDefaultTimeout(PAGE_TIMEOUT_MS);
  });

  after(async () => {
    await browser?.close();
    await server?.stop();
  });

  test('a certified page is verified and shown', async () => {
    const response = await page.goto(at('/index.html'));
    assert.equal(response.status(), 200, await response.text());
    assert.equal(await page.title(), 'Certified page');
    assert.equal(await page.textContent('h1'), 'Certified page');
    assert.match(await page.textContent('#status'), /certification was verified by the gateway/);
    assert.match(response.headers()['ic-certificate'] ?? '', /version=2/);
    const file = join(SCREENSHOT_DIR, 'gateway-certified-page.png');
    await page.screenshot({ path: file, fullPage: true });
    console.log(`screenshot: ${file}`);
  });

  test('a tampered response is refused with the gateway error page', async () => {
    const response = await page.goto(at('/tampered.html'));
    assert.equal(response.status(), 503);
    assert.equal(response.headers()['x-ic-error-cause'], 'backend_response_verification');
    assert.equal(await page.textContent('#title'), 'Response Verification Error');
    assert.match(await page.textContent('#description'), /failed verification and cannot be trusted/);
    const text = await page.textContent('body');
    assert.ok(!text.includes('Tampered content'), 'the tampered body never reaches the page');
    const file = join(SCREENSHOT_DIR, 'gateway-refused-page.png');
    await page.screenshot({ path: file, fullPage: true });
    console.log(`screenshot: ${file}`);
  });

  test('the raw domain skips verification', async () => {
    const response = await page.goto(at('/tampered.html', true));
    assert.equal(response.status(), 200);
    assert.equal(await page.textContent('h1'), 'Tampered content');
  });

  test('an upgraded request is answered by http_request_update', async () => {
    const response = await page.goto(at('/upgrade'));
    assert.equal(response.status(), 200);
    assert.match(await page.textContent('body'), /^updated \d+ \(GET \/upgrade\)$/);
  });
});
