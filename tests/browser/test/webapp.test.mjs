// Acceptance test of the learner web app, in headless Chromium (Debian's chromium driven by
// playwright-core), on the platform the main job runs.
//
// `target/debug/platform up` starts the local network, deploys the platform and the web app
// (served by the frontend_assets canister through the HTTP gateway, which verifies every
// response), simulates a few learners over two days (PLATFORM_UP_ARGS overrides that) and keeps
// serving. A learner then signs in with the local test identity,
// registers, fills in the profile (an invalid e-mail first: the canister's message is shown),
// reads a unit, fails its quiz, passes it, sees the staked balance, unstakes, sees the
// withdrawal complete and the ledger balance; the public page shows the learner and the
// proposal history. A screenshot of each step goes to $SCREENSHOT_DIR (default: a new
// directory under the OS temp directory); they are test artifacts, never committed.
//
// Every wait is bounded; the platform is stopped at the end (or when the process exits).
import { describe, before, after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, mkdirSync, openSync, closeSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT, envMs, sleep, tail, track, launchChromium } from '../lib/support.mjs';

const START_TIMEOUT_MS = envMs('PLATFORM_START_TIMEOUT_MS', 600_000);
const PAGE_TIMEOUT_MS = envMs('PAGE_TIMEOUT_MS', 60_000);
// Withdrawals complete when the shard's mint through the hub settles (a few rounds).
const SETTLE_TIMEOUT_MS = envMs('SETTLE_TIMEOUT_MS', 120_000);

const PLATFORM_BIN = process.env.PLATFORM_BIN ?? join(REPO_ROOT, 'target', 'debug', 'platform');
const SCREENSHOT_DIR = process.env.SCREENSHOT_DIR ?? mkdtempSync(join(tmpdir(), 'webapp-screenshots-'));


/** `platform up` on a free port with a fresh state directory; resolves once it is deployed (and
 * its simulation, if any, has written its report). */
async function startPlatform() {
  if (!existsSync(PLATFORM_BIN)) throw new Error(`${PLATFORM_BIN} is missing: run scripts/test-browser.sh (it builds everything)`);
  const tmp = mkdtempSync(join(tmpdir(), 'platform-webapp-'));
  const stateDir = join(tmp, 'state');
  mkdirSync(stateDir);
  const portFile = join(tmp, 'port');
  const log = join(tmp, 'platform.log');
  const fd = openSync(log, 'a');
  // By default a small simulation runs first: the learner then uses a platform with other
  // learners, several shards, and a clock days ahead of the browser's (agent-js syncs with it).
  const extra = (process.env.PLATFORM_UP_ARGS ?? '--simulate 30 --days 2 --shard-soft-limit 10').split(' ').filter(Boolean);
  const simulating = extra.includes('--simulate');
  const reportFile = join(stateDir, 'report', 'report.json');
  const child = spawn(PLATFORM_BIN, ['up', '--port', '0', '--port-file', portFile, '--state-dir', stateDir, ...extra], {
    cwd: REPO_ROOT,
    stdio: ['ignore', fd, fd],
  });
  closeSync(fd);
  const exitOf = track(child);
  const deploymentFile = join(stateDir, 'deployment.json');
  const deadline = Date.now() + START_TIMEOUT_MS;
  let port;
  let deployment;
  while (port === undefined || deployment === undefined || (simulating && !existsSync(reportFile))) {
    if (port === undefined && existsSync(portFile)) {
      const n = Number(readFileSync(portFile, 'utf8').trim());
      if (n > 0) port = n;
    }
    if (deployment === undefined && existsSync(deploymentFile)) {
      try {
        // { deployment: platform-deploy's Deployment, deployer, shard limits, functions }
        deployment = JSON.parse(readFileSync(deploymentFile, 'utf8')).deployment;
      } catch {
        // being written: read it again
      }
    }
    if (exitOf()) throw new Error(`platform up exited (${JSON.stringify(exitOf())}) before it was ready:\n${tail(log)}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`platform up was not ready after ${START_TIMEOUT_MS} ms:\n${tail(log)}`);
    }
    await sleep(100);
  }
  const stop = async () => {
    if (!exitOf()) {
      child.kill('SIGTERM');
      for (let i = 0; i < 200 && !exitOf(); i++) await sleep(50);
      if (!exitOf()) child.kill('SIGKILL');
    }
    if (!process.env.KEEP_PLATFORM_TMP) rmSync(tmp, { recursive: true, force: true });
  };
  const simulated = simulating ? JSON.parse(readFileSync(reportFile, 'utf8')).learners : 0;
  return { port, deployment, log, stop, simulated };
}

describe('the learner web app in headless Chromium', { timeout: START_TIMEOUT_MS + 30 * PAGE_TIMEOUT_MS + SETTLE_TIMEOUT_MS }, () => {
  let platform;
  let browser;
  let page;
  let step = 0;
  const shot = async (name) => {
    step += 1;
    const file = join(SCREENSHOT_DIR, `webapp-${String(step).padStart(2, '0')}-${name}.png`);
    await page.screenshot({ path: file, fullPage: true });
    console.log(`screenshot: ${file}`);
  };
  const byTestId = (id) => page.getByTestId(id);
  const appUrl = (path) => `http://${platform.deployment.frontend_assets}.localhost:${platform.port}${path}`;

  before(async () => {
    platform = await startPlatform();
    assert.ok(platform.deployment.frontend_assets, `deployment.json names no frontend_assets canister: ${JSON.stringify(platform.deployment)}`);
    browser = await launchChromium(PAGE_TIMEOUT_MS);
    // A phone-sized screen: the layout has to work there.
    page = await browser.newPage({ viewport: { width: 390, height: 844 } });
    page.setDefaultTimeout(PAGE_TIMEOUT_MS);
    page.on('console', (m) => {
      if (m.type() === 'error') console.log(`browser console: ${m.text()}`);
    });
  });

  after(async () => {
    await browser?.close();
    await platform?.stop();
  });

  test('a learner signs in, studies, earns, unstakes; the public page shows it', async () => {
    // The app is served by the asset canister, verified by the gateway.
    const response = await page.goto(appUrl('/'));
    assert.equal(response.status(), 200, await response.text());
    assert.match(response.headers()['ic-certificate'] ?? '', /certificate=/, 'the gateway passed a certified response');
    await shot('home');

    // Sign in with the local test identity (no Internet Identity on a local network).
    await byTestId('signin-local').click();
    const principal = (await byTestId('principal').textContent()).trim();
    assert.match(principal, /^[a-z0-9]{5}(-[a-z0-9]{1,5})+$/, `principal shown: ${principal}`);
    await shot('signed-in');

    // Register: the hub routes the learner to a shard.
    await byTestId('nav-learn').click();
    await byTestId('register').click();
    await byTestId('shard-id').waitFor();
    assert.match((await byTestId('shard-id').textContent()).trim(), /[a-z0-9]{5}-/);
    await shot('registered');

    // The profile: an invalid e-mail first, the canister's message is shown; then fixed.
    await byTestId('profile-name').fill('Ada Learner');
    await byTestId('profile-email').fill('not-an-email');
    await byTestId('profile-education').fill('Self-taught');
    await byTestId('profile-gender').selectOption({ index: 1 });
    await byTestId('profile-save').click();
    await byTestId('profile-error').waitFor();
    const message = (await byTestId('profile-error').textContent()).trim();
    assert.match(message, /e-?mail/i, `the message names the field: ${message}`);
    await shot('profile-invalid');
    await byTestId('profile-email').fill('ada@example.org');
    await byTestId('profile-save').click();
    await byTestId('profile-saved').waitFor();
    await shot('profile-saved');

    // Read a unit of the seed course.
    const unit = platform.deployment.units[0];
    await byTestId(`unit-link-${unit.unit_id}`).click();
    await byTestId('unit-body').waitFor();
    assert.ok((await byTestId('unit-body').textContent()).trim().length > 100, 'the unit has a real text');
    await shot('unit');

    // Fail the quiz: every answer wrong.
    const answers = unit.answers;
    for (let q = 0; q < answers.length; q++) {
      await byTestId(`quiz-option-${q}-${answers[q] === 0 ? 1 : 0}`).check();
    }
    await byTestId('quiz-submit').click();
    await page.waitForFunction(() => /Not passed/.test(document.querySelector('[data-testid="quiz-result"]')?.textContent ?? ''));
    await shot('quiz-failed');

    // Pass it.
    for (let q = 0; q < answers.length; q++) {
      await byTestId(`quiz-option-${q}-${answers[q]}`).check();
    }
    await byTestId('quiz-submit').click();
    await page.waitForFunction(() => {
      const t = document.querySelector('[data-testid="quiz-result"]')?.textContent ?? '';
      return /Passed/.test(t) && !/Not passed/.test(t);
    });
    await byTestId('attempts-left').waitFor();
    await shot('quiz-passed');

    // The staked balance, then unstake part of it.
    await byTestId('nav-wallet').click();
    await page.waitForFunction(() => /[1-9]/.test(document.querySelector('[data-testid="staked-balance"]')?.textContent ?? ''));
    await shot('wallet');
    await byTestId('unstake-amount').fill('25');
    await byTestId('unstake-submit').click();
    await byTestId('withdrawal-row').first().waitFor();
    const deadline = Date.now() + SETTLE_TIMEOUT_MS;
    for (;;) {
      const row = (await byTestId('withdrawal-row').first().textContent()) ?? '';
      if (/Completed/.test(row)) break;
      assert.ok(!/Failed/.test(row), `the withdrawal failed: ${row}`);
      if (Date.now() > deadline) assert.fail(`the withdrawal did not complete within ${SETTLE_TIMEOUT_MS} ms: ${row}\n${tail(platform.log)}`);
      await sleep(1_000);
      // The page polls by itself for a while; a reload asks again if it has stopped.
      if (Date.now() + SETTLE_TIMEOUT_MS / 2 > deadline) {
        await byTestId('nav-learn').click();
        await byTestId('nav-wallet').click();
      }
    }
    await page.waitForFunction(() => /\b25(\.0+)?\b/.test(document.querySelector('[data-testid="ledger-balance"]')?.textContent ?? ''));
    await shot('withdrawal-completed');

    // The public page: the learner counts, and the proposals that set the platform up.
    await byTestId('nav-platform').click();
    // Every learner counts: the simulated ones and this one.
    const learners = (platform.simulated ?? 0) + 1;
    await page.waitForFunction(
      (n) => Number((document.querySelector('[data-testid="stat-learners"]')?.textContent ?? '').replace(/[^0-9]/g, '')) >= n,
      learners,
    );
    await byTestId('proposal-row').first().waitFor();
    assert.ok((await byTestId('proposal-row').count()) >= 1);
    assert.match((await byTestId('shard-wasm-hash').textContent()).trim(), /[0-9a-f]{64}/);
    await shot('platform');

    // Deleting the profile: refused while tokens are staked, done once the learner gives them up.
    await byTestId('nav-wallet').click();
    await page.waitForFunction(() => /[1-9]/.test(document.querySelector('[data-testid="staked-balance"]')?.textContent ?? ''));
    await byTestId('delete-confirm').check();
    await byTestId('delete-submit').click();
    await page.getByText(/tokens staked\. Withdraw them first/).waitFor();
    await byTestId('delete-forfeit').check();
    await byTestId('delete-confirm').check();
    await byTestId('delete-submit').click();
    await byTestId('profile-deleted').waitFor();
    assert.match(await byTestId('profile-deleted').textContent(), /deleted; .* given up/);
    await page.waitForFunction(() => /^\s*0\b/.test(document.querySelector('[data-testid="staked-balance"]')?.textContent ?? ''));
    await shot('profile-deleted');
  });

  test('a deep link is served the app (SPA routing) and works after a reload', async () => {
    const response = await page.goto(appUrl('/platform'));
    assert.equal(response.status(), 200);
    await byTestId('stat-learners').waitFor();
    await shot('deep-link');
  });
});
