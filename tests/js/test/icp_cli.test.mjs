// DFINITY's icp-cli (npm @icp-sdk/icp-cli-linux-x64) against the localnet server as a connected
// network: through a copy of the repository's icp.yaml (url port and root-key replaced) and
// through `-n URL -k HEX`. Covers a query, an update with an identity icp-cli created, and
// `icp canister status` for a canister that an icp-cli identity controls.
import { describe, before, after, test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { cpSync, mkdtempSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Actor, HttpAgent } from '@icp-sdk/core/agent';
import { Ed25519KeyIdentity } from '@icp-sdk/core/identity';
import { Principal } from '@icp-sdk/core/principal';
import { IcManagementCanister } from '@icp-sdk/canisters/ic-management';

import { idlFactory as hubIdl } from '../generated/staking_hub.did.js';
import { startLocalnet, deployPlatform, icpCli, toHex, REPO_ROOT, DEPLOY_TIMEOUT_MS } from '../lib/localnet.mjs';

/** Fails with the command's output unless it exited 0; returns stdout. */
function okRun(r, what) {
  assert.equal(r.code, 0, `${what} exited ${r.code}${r.timedOut ? ' (timed out)' : ''}\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`);
  return r.stdout;
}

/**
 * The repository's icp.yaml pointed at the test's server: the committed file must name exactly
 * one `url: http://127.0.0.1:4943` and take the root key from the server (`root-key: fetch`);
 * with `pinKey`, the copy pins the server's key instead.
 */
function projectYaml(server, { pinKey }) {
  const committed = readFileSync(join(REPO_ROOT, 'icp.yaml'), 'utf8');
  const urls = committed.match(/^\s*url: http:\/\/127\.0\.0\.1:4943\s*$/gm) ?? [];
  const keys = committed.match(/^\s*root-key: fetch\s*$/gm) ?? [];
  assert.equal(urls.length, 1, 'icp.yaml has one connected url on the default port 4943');
  assert.equal(keys.length, 1, 'icp.yaml takes the local root key from the server');
  const yaml = committed.replace(/^(\s*url: )http:\/\/127\.0\.0\.1:4943\s*$/m, `$1${server.url}`);
  return pinKey ? yaml.replace(/^(\s*root-key: )fetch\s*$/m, `$1${toHex(server.rootKey)}`) : yaml;
}

// @icp-sdk/icp-cli-linux-x64 (an optional dependency) carries the Linux x86-64 binary only.
const unsupported = process.platform !== 'linux' || process.arch !== 'x64';

describe('icp-cli against the localnet server', {
  timeout: DEPLOY_TIMEOUT_MS + 300_000,
  skip: unsupported && 'icp-cli is installed here from @icp-sdk/icp-cli-linux-x64 (Linux x86-64 only)',
}, () => {
  let server;
  let ids;
  let home; // ICP_HOME: identities
  let project; // a project directory holding the adapted icp.yaml (key pinned) and the ids
  let fetching; // the same with the committed `root-key: fetch`
  let icp;
  let rootKeyHex;

  before(async () => {
    home = mkdtempSync(join(tmpdir(), 'icp-home-'));
    project = mkdtempSync(join(tmpdir(), 'icp-project-'));
    fetching = mkdtempSync(join(tmpdir(), 'icp-project-fetch-'));
    icp = icpCli({ home });
    server = await startLocalnet();
    try {
      // The deploy command links the ids to icp.yaml's canister names (--project-dir).
      ids = await deployPlatform(server, { projectDir: project });
    } catch (e) {
      await server.stop();
      server = undefined;
      throw e;
    }
    rootKeyHex = toHex(server.rootKey);
    writeFileSync(join(project, 'icp.yaml'), projectYaml(server, { pinKey: true }));
    writeFileSync(join(fetching, 'icp.yaml'), projectYaml(server, { pinKey: false }));
    cpSync(join(project, '.icp'), join(fetching, '.icp'), { recursive: true });
  });

  after(async () => {
    if (server) await server.stop();
    for (const dir of [home, project, fetching]) if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('icp-cli is the pinned version and reads the project file', async () => {
    assert.match(okRun(await icp(['--version']), 'icp --version'), /^icp 1\.5\.0\b/m);
    // The committed file parses as it is (run from the repository root, no network needed):
    // the IC environment holds the platform's four canisters, no stand-in and no shard.
    const envs = okRun(await icp(['environment', 'list'], { cwd: REPO_ROOT }), 'environment list').split('\n').filter(Boolean);
    assert.deepEqual(envs.sort(), ['ic', 'local']);
    const onIc = JSON.parse(okRun(await icp(['canister', 'list', '-e', 'ic', '--json'], { cwd: REPO_ROOT }), 'canister list -e ic'));
    assert.deepEqual(onIc.canisters.sort(), ['frontend_assets', 'learning_content', 'reward_ledger', 'staking_hub']);
    // The test's copy points at the running server with its key.
    const st = JSON.parse(okRun(await icp(['network', 'status', 'local', '--json'], { cwd: project }), 'network status'));
    assert.equal(st.api_url, `${server.url}/`);
    assert.equal(st.root_key, rootKeyHex);
    const ping = okRun(await icp(['network', 'ping', 'local'], { cwd: project }), 'network ping');
    assert.match(ping, /healthy/);
  });

  test('the deployed canisters by name, through the committed icp.yaml', async () => {
    // The ids platform-deploy recorded, under icp.yaml's names.
    const local = JSON.parse(okRun(await icp(['canister', 'list', '--json'], { cwd: project }), 'canister list'));
    for (const name of ['staking_hub', 'learning_content', 'reward_ledger', 'sns_governance', 'sns_root']) {
      assert.ok(local.canisters.includes(name), `${name} is declared: ${JSON.stringify(local)}`);
    }
    const stats = okRun(await icp(['canister', 'call', 'staking_hub', 'get_global_stats', '()', '--query'], { cwd: project }), 'call staking_hub by name');
    assert.match(stats, /total_minted_e8s = \d/);
    // With the committed `root-key: fetch` (icp-cli warns that the key is unverified).
    const r = await icp(['canister', 'call', 'reward_ledger', 'icrc1_symbol', '()', '--query'], { cwd: fetching });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /"LRN"/);
    assert.match(r.stderr, /root key/i);
    // The SNS the deploy command set up: the custom functions it registered by proposal.
    const fns = okRun(await icp(['canister', 'call', 'sns_governance', 'list_nervous_system_functions', '()', '--query'], { cwd: project }), 'list functions');
    for (const id of ['1_000', '1_001', '1_005', '1_009']) assert.match(fns, new RegExp(`id = ${id} : nat64`));
  });

  test('query: the hub stats, through icp.yaml and through -n URL -k KEY', async () => {
    // Through the project file (the implicit `local` environment); the Candid interface is read
    // from the canister's candid:service metadata over read_state.
    const viaYaml = okRun(
      await icp(['canister', 'call', ids.staking_hub, 'get_global_stats', '()', '--query'], { cwd: project }),
      'canister call get_global_stats (icp.yaml)',
    );
    assert.match(viaYaml, /total_minted_e8s = \d/);
    assert.match(viaYaml, /users = \d/);
    // Per invocation, from outside any project.
    const viaFlags = okRun(
      await icp(['canister', 'call', '-n', server.url, '-k', rootKeyHex, ids.staking_hub, 'get_version', '()', '--query']),
      'canister call get_version (-n -k)',
    );
    assert.match(viaFlags, /canister = "staking_hub"/);
    // Certified query (sent as an update) with the interface given as a file.
    const certified = okRun(
      await icp([
        'canister', 'call', '-n', server.url, '-k', rootKeyHex, '--candid', join(REPO_ROOT, 'candid', 'staking_hub.did'),
        ids.staking_hub, 'get_shard_wasm_hash', '()',
      ]),
      'canister call get_shard_wasm_hash (update)',
    );
    assert.match(certified, /"[0-9a-f]{64}"/);
  });

  test('update: register a learner identity created by icp-cli', async () => {
    okRun(await icp(['identity', 'new', 'learner', '--storage', 'plaintext', '--quiet']), 'identity new');
    const learner = okRun(await icp(['identity', 'principal', '--identity', 'learner']), 'identity principal').trim();
    Principal.fromText(learner);

    const out = okRun(
      // `(null)`: no registration proof (the local deployment's policy is Open).
      await icp(['canister', 'call', ids.staking_hub, 'register', '(null)', '--identity', 'learner', '--json'], { cwd: project }),
      'canister call register',
    );
    const reply = JSON.parse(out);
    const m = /variant \{ Ok = principal "([a-z0-9-]+)" \}/.exec(reply.response_candid ?? '');
    assert.ok(m, `register answered Ok(shard): ${out}`);
    const shard = m[1];

    // The hub's index, read through the agent, agrees with what icp-cli registered.
    const agent = await HttpAgent.create({ host: server.url, rootKey: server.rootKey, retryTimes: 0 });
    const hub = Actor.createActor(hubIdl, { agent, canisterId: Principal.fromText(ids.staking_hub) });
    const indexed = await hub.get_user_shard(Principal.fromText(learner));
    assert.deepEqual(indexed.map((p) => p.toText()), [shard]);

    // The learner reads its profile on the shard (query, icp-cli's signed query path).
    const profile = okRun(
      await icp(['canister', 'call', shard, 'get_my_profile', '()', '--query', '--identity', 'learner'], { cwd: project }),
      'canister call get_my_profile',
    );
    assert.match(profile, new RegExp(`"principal" = principal "${learner}"`));

    // Not a controller of the hub: `canister status` falls back to the public state tree
    // (controllers and module hash), which needs the management canister's IC0512 refusal.
    const pub = JSON.parse(
      okRun(await icp(['canister', 'status', ids.staking_hub, '--identity', 'learner', '--json'], { cwd: project }), 'status (public)'),
    );
    assert.equal(pub.id, ids.staking_hub);
    assert.match(pub.module_hash ?? '', /^0x[0-9a-f]{64}$/);
    assert.ok(Array.isArray(pub.controllers));
  });

  test('canister status for a canister an icp-cli identity controls', async () => {
    // One Ed25519 key for both tools: icp-cli imports its PEM, the agent uses its raw secret.
    const { privateKey } = generateKeyPairSync('ed25519');
    const pem = join(home, 'ops.pem');
    writeFileSync(pem, privateKey.export({ type: 'pkcs8', format: 'pem' }));
    okRun(await icp(['identity', 'import', 'ops', '--from-pem', pem, '--storage', 'plaintext']), 'identity import');
    const seed = new Uint8Array(Buffer.from(privateKey.export({ format: 'jwk' }).d, 'base64url'));
    const identity = Ed25519KeyIdentity.fromSecretKey(seed);
    const ops = okRun(await icp(['identity', 'principal', '--identity', 'ops']), 'identity principal').trim();
    assert.equal(ops, identity.getPrincipal().toText(), 'icp-cli and the agent derive the same principal');

    // icp-cli creates canisters through the cycles ledger, which a local network need not have:
    // the agent creates it through the management canister, with the ops identity as caller
    // and sole controller.
    const agent = await HttpAgent.create({ host: server.url, identity, rootKey: server.rootKey, retryTimes: 0 });
    const mgmt = IcManagementCanister.create({ agent });
    const cid = await mgmt.provisionalCreateCanisterWithCycles({
      amount: 1_000_000_000_000n,
      settings: { controllers: [ops] },
    });

    // canister_status must decode with the newest management types: @icp-sdk/canisters 3.6's
    // (settings.snapshot_visibility) and icp-cli 1.5's ic-management-canister-types 0.11
    // (settings.minimum_incoming_canister_call_cycles, status_visibility, snapshot_visibility).
    const viaAgent = await mgmt.canisterStatus({ canisterId: cid, certified: true });
    assert.deepEqual(viaAgent.settings.controllers.map((p) => p.toText()), [ops]);
    assert.ok('running' in viaAgent.status);

    const st = JSON.parse(
      okRun(await icp(['canister', 'status', cid.toText(), '--identity', 'ops', '--json'], { cwd: project }), 'canister status'),
    );
    assert.equal(st.id, cid.toText());
    assert.equal(st.status, 'Running');
    assert.deepEqual(st.settings.controllers, [ops]);
    assert.equal(st.module_hash, null, 'nothing installed yet');
    // icp-cli prints numbers with digit separators (1_000_000_000_000).
    assert.ok(BigInt(String(st.cycles).replaceAll('_', '')) > 0n);

    // The same through -n/-k and the human-readable output.
    const text = okRun(
      await icp(['canister', 'status', cid.toText(), '--identity', 'ops', '-n', server.url, '-k', rootKeyHex]),
      'canister status (-n -k)',
    );
    assert.match(text, /Status: Running/);
    assert.ok(text.includes(ops), `the controller is listed:\n${text}`);

    // Another identity is no controller: icp-cli shows only the public information.
    const other = JSON.parse(
      okRun(await icp(['canister', 'status', cid.toText(), '--json'], { cwd: project }), 'status as anonymous'),
    );
    assert.deepEqual(other.controllers, [ops]);
    assert.equal(other.status, undefined, 'no private status for a non-controller');
  });
});
