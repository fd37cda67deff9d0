// Test support: runs the localnet server (target/debug/localnet) on a free loopback port with a
// temporary state directory, deploys the platform with platform-deploy, and runs icp-cli.
// Every wait is bounded; every server started here is stopped by `stop()` or, at the latest,
// when the test process exits.
import { spawn, execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, existsSync, rmSync, openSync, closeSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';

const here = dirname(fileURLToPath(import.meta.url));
export const JS_DIR = resolve(here, '..');
export const REPO_ROOT = resolve(JS_DIR, '..', '..');

const envMs = (name, fallback) => {
  const v = Number(process.env[name]);
  return Number.isFinite(v) && v > 0 ? v : fallback;
};
/** How long the server may take to write its port file. */
export const START_TIMEOUT_MS = envMs('LOCALNET_START_TIMEOUT_MS', 60_000);
/** How long platform-deploy may take (it installs every canister over HTTP). */
export const DEPLOY_TIMEOUT_MS = envMs('PLATFORM_DEPLOY_TIMEOUT_MS', 600_000);
/** How long one icp-cli command may take. */
export const ICP_TIMEOUT_MS = envMs('ICP_CLI_TIMEOUT_MS', 120_000);

export const localnetBinary = () =>
  process.env.LOCALNET_BIN ?? join(REPO_ROOT, 'target', 'debug', 'localnet');

const running = new Set();
process.on('exit', () => {
  for (const child of running) {
    try {
      child.kill('SIGKILL');
    } catch {
      // already gone
    }
  }
});

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Polls `probe` until it returns a value other than undefined, for at most `timeoutMs`. */
export async function waitFor(probe, { timeoutMs, intervalMs = 100, what }) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    last = await probe();
    if (last !== undefined) return last;
    if (Date.now() >= deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(intervalMs);
  }
}

function tail(file, lines = 40) {
  try {
    return readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

/**
 * Starts `localnet serve --port 0 --port-file F --state-dir D` and waits (bounded) for the port
 * file and the root key. Returns { url, port, rootKey (Uint8Array, 133-byte DER), stateDir, log,
 * stop() }.
 */
export async function startLocalnet() {
  const bin = localnetBinary();
  if (!existsSync(bin)) {
    throw new Error(`${bin} does not exist: build it with \`cargo build -p localnet-server\` (scripts/test-js.sh does)`);
  }
  const tmp = mkdtempSync(join(tmpdir(), 'localnet-js-'));
  const portFile = join(tmp, 'port');
  const stateDir = join(tmp, 'state');
  mkdirSync(stateDir);
  const log = join(tmp, 'server.log');
  const logFd = openSync(log, 'a');
  const child = spawn(bin, ['serve', '--port', '0', '--port-file', portFile, '--state-dir', stateDir], {
    cwd: REPO_ROOT,
    stdio: ['ignore', logFd, logFd],
  });
  closeSync(logFd);
  running.add(child);
  let exited = null;
  const exitPromise = new Promise((res) => {
    child.on('exit', (code, signal) => {
      exited = { code, signal };
      running.delete(child);
      res(exited);
    });
    child.on('error', (err) => {
      exited = { error: err };
      running.delete(child);
      res(exited);
    });
  });

  const stop = async () => {
    if (exited === null) {
      child.kill('SIGTERM');
      const done = await Promise.race([exitPromise, sleep(10_000).then(() => null)]);
      if (done === null) {
        child.kill('SIGKILL');
        await Promise.race([exitPromise, sleep(5_000)]);
      }
    }
    if (!process.env.KEEP_LOCALNET_TMP) rmSync(tmp, { recursive: true, force: true });
    return exited;
  };

  try {
    const port = await waitFor(
      () => {
        if (exited) {
          throw new Error(`localnet exited before writing its port file (${JSON.stringify(exited)}):\n${tail(log)}`);
        }
        if (!existsSync(portFile)) return undefined;
        const text = readFileSync(portFile, 'utf8').trim();
        const port = Number(text);
        return text !== '' && Number.isInteger(port) && port > 0 ? port : undefined;
      },
      { timeoutMs: START_TIMEOUT_MS, intervalMs: 50, what: `the port file ${portFile}` },
    );
    const rootKeyFile = join(stateDir, 'root_key.der');
    const rootKey = await waitFor(
      () => {
        if (!existsSync(rootKeyFile)) return undefined;
        const bytes = new Uint8Array(readFileSync(rootKeyFile));
        return bytes.length === 133 ? bytes : undefined;
      },
      { timeoutMs: 10_000, intervalMs: 50, what: `a 133-byte ${rootKeyFile}` },
    );
    return {
      url: `http://127.0.0.1:${port}`,
      port,
      rootKey,
      rootKeyFile,
      stateDir,
      log,
      logTail: () => tail(log),
      stop,
    };
  } catch (e) {
    await stop();
    throw e;
  }
}

function run(cmd, args, { timeoutMs, env, cwd = REPO_ROOT }) {
  return new Promise((res) => {
    execFile(
      cmd,
      args,
      { cwd, env, timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) => {
        res({
          code: error ? (error.code ?? null) : 0,
          signal: error?.signal ?? null,
          timedOut: Boolean(error?.killed),
          stdout: String(stdout),
          stderr: String(stderr),
        });
      },
    );
  });
}

/**
 * Installs the platform on the server with platform-deploy and returns its JSON:
 * { staking_hub, learning_content, reward_ledger, units: [{ unit_id, answers }] }.
 * Uses target/debug/platform-deploy when it exists (scripts/test-js.sh builds it), else
 * `cargo run -q -p platform-deploy`. PLATFORM_DEPLOY overrides the binary.
 */
export async function deployPlatform(server, { projectDir } = {}) {
  const out = join(server.stateDir, '..', 'ids.json');
  const deployArgs = ['--url', server.url, '--root-key', server.rootKeyFile, '--out', out];
  // Record the ids for icp-cli and dfx in that project directory.
  if (projectDir) deployArgs.push('--project-dir', projectDir);
  const bin = process.env.PLATFORM_DEPLOY ?? join(REPO_ROOT, 'target', 'debug', 'platform-deploy');
  const [cmd, args] = existsSync(bin)
    ? [bin, deployArgs]
    : ['cargo', ['run', '-q', '-p', 'platform-deploy', '--', ...deployArgs]];
  const r = await run(cmd, args, { timeoutMs: DEPLOY_TIMEOUT_MS, env: process.env });
  if (r.code !== 0) {
    throw new Error(
      `platform-deploy failed (${r.timedOut ? `timed out after ${DEPLOY_TIMEOUT_MS} ms` : `exit ${r.code}`}):\n` +
        `${r.stderr}\n${r.stdout}\n--- server log ---\n${server.logTail()}`,
    );
  }
  const ids = JSON.parse(readFileSync(out, 'utf8'));
  for (const key of ['staking_hub', 'learning_content', 'reward_ledger']) {
    if (typeof ids[key] !== 'string') throw new Error(`platform-deploy output lacks ${key}: ${JSON.stringify(ids)}`);
  }
  if (!Array.isArray(ids.units) || ids.units.length === 0) {
    throw new Error(`platform-deploy output has no units: ${JSON.stringify(ids)}`);
  }
  return ids;
}

/** Path of the icp binary shipped by @icp-sdk/icp-cli-linux-x64. */
export function icpBinary() {
  const require = createRequire(import.meta.url);
  return require('@icp-sdk/icp-cli-linux-x64').binaryPath;
}

/**
 * An icp-cli runner with its own ICP_HOME (identities) and telemetry off.
 * `icp(args, { cwd })` resolves to { code, stdout, stderr }.
 */
export function icpCli({ home }) {
  const bin = icpBinary();
  const env = {
    ...process.env,
    ICP_HOME: home,
    DO_NOT_TRACK: '1',
    ICP_TELEMETRY_DISABLED: '1',
    NO_COLOR: '1',
    RUST_BACKTRACE: '0',
  };
  // Make the project/network selection come only from the command line and the cwd.
  delete env.ICP_ENVIRONMENT;
  delete env.ICP_NETWORK;
  delete env.ICP_PROJECT_ROOT;
  return (args, { cwd = home, timeoutMs = ICP_TIMEOUT_MS } = {}) => run(bin, args, { timeoutMs, env, cwd });
}

export const toHex = (bytes) => Buffer.from(bytes).toString('hex');
