// A learner's whole flow against the localnet server through DFINITY's JavaScript agent
// (@icp-sdk/core), with certificate and query-signature verification on, the root key read from
// the server's state directory, Candid bindings generated from candid/*.did (generated/), and the
// reward ledger read through @icp-sdk/canisters' ICRC ledger client.
import { describe, before, after, test } from 'node:test';
import assert from 'node:assert/strict';
import { Actor, HttpAgent, Certificate, Cbor, IC_ROOT_KEY, TrustError, lookupResultToBuffer } from '@icp-sdk/core/agent';
import { IDL } from '@icp-sdk/core/candid';
import { Ed25519KeyIdentity } from '@icp-sdk/core/identity';
import { Secp256k1KeyIdentity } from '@icp-sdk/core/identity/secp256k1';
import { Principal } from '@icp-sdk/core/principal';
import { IcrcLedgerCanister } from '@icp-sdk/canisters/ledger/icrc';

import { idlFactory as hubIdl } from '../generated/staking_hub.did.js';
import { idlFactory as shardIdl } from '../generated/user_profile.did.js';
import { idlFactory as contentIdl } from '../generated/learning_content.did.js';
import { startLocalnet, deployPlatform, waitFor, sleep, DEPLOY_TIMEOUT_MS } from '../lib/localnet.mjs';

/** Unwraps a Candid `variant { Ok; Err }` result, failing the test on Err. */
function ok(result, what) {
  assert.ok(result && typeof result === 'object', `${what}: not a result: ${String(result)}`);
  if ('Err' in result) assert.fail(`${what}: Err ${JSON.stringify(result.Err, bigintJson)}`);
  assert.ok('Ok' in result, `${what}: neither Ok nor Err: ${JSON.stringify(result, bigintJson)}`);
  return result.Ok;
}
const bigintJson = (_k, v) => (typeof v === 'bigint' ? v.toString() : v?._isPrincipal ? v.toText() : v);
const hexToBytes = (hex) => new Uint8Array(Buffer.from(hex, 'hex'));
const errKind = (result) => ('Err' in result ? Object.keys(result.Err)[0] : undefined);

function leb128(bytes) {
  let n = 0n;
  let shift = 0n;
  for (const b of bytes) {
    n |= BigInt(b & 0x7f) << shift;
    shift += 7n;
    if ((b & 0x80) === 0) break;
  }
  return n;
}

async function agentFor(server, identity, extra = {}) {
  return HttpAgent.create({
    host: server.url,
    identity,
    // The root key comes from the server's state directory, not from the network.
    rootKey: server.rootKey,
    shouldFetchRootKey: false,
    // Both are the defaults; spelled out because this test exists to exercise them.
    verifyQuerySignatures: true,
    retryTimes: 0,
    ...extra,
  });
}

describe('learner flow through @icp-sdk/core', { timeout: DEPLOY_TIMEOUT_MS + 300_000 }, () => {
  let server;
  let ids;

  before(async () => {
    server = await startLocalnet();
    try {
      ids = await deployPlatform(server);
    } catch (e) {
      await server.stop();
      server = undefined;
      throw e;
    }
  });

  after(async () => {
    if (server) await server.stop();
  });

  test('register, quiz, signed reads, unstake, ICRC-1 balance, wrong identities rejected', async (t) => {
    const learner = Ed25519KeyIdentity.generate();
    const me = learner.getPrincipal();
    const agent = await agentFor(server, learner);
    assert.deepEqual(agent.rootKey, server.rootKey, 'the agent uses the root key from the file');
    assert.equal(agent.config.verifyQuerySignatures, true);

    const hubId = Principal.fromText(ids.staking_hub);
    const hub = Actor.createActor(hubIdl, { agent, canisterId: hubId });
    const hubX = Actor.createActorWithExtendedDetails(hubIdl, { agent, canisterId: hubId });

    // register (update): a certified reply whose certificate the agent verified.
    const reg = await hubX.register([]);
    const shardId = ok(reg.result, 'register');
    assert.ok(reg.certificate instanceof Certificate, 'the reply of register came with a certificate');
    const certTimeNs = leb128(lookupResultToBuffer(reg.certificate.lookup_path(['time'])));
    const skewMs = Math.abs(Number(certTimeNs / 1_000_000n) - Date.now());
    assert.ok(skewMs < 5 * 60_000, `certified time follows the wall clock (off by ${skewMs} ms)`);

    // A second registration answers the same shard; the hub's index agrees (query).
    assert.equal(ok(await hub.register([]), 'register again').toText(), shardId.toText());
    const indexed = await hub.get_user_shard(me);
    assert.equal(indexed.length, 1);
    assert.equal(indexed[0].toText(), shardId.toText());

    const shard = Actor.createActor(shardIdl, { agent, canisterId: shardId });
    const profileIn = { name: 'Ada JS', education: 'Agent tests', email: 'ada@example.org', gender: { PreferNotToSay: null } };
    const view0 = ok(await shard.update_profile(profileIn), 'update_profile');
    assert.equal(view0.principal.toText(), me.toText());
    assert.equal(view0.profile[0]?.name, 'Ada JS');

    // A unit is readable from learning_content by query (no answer key in it).
    const content = Actor.createActor(contentIdl, { agent, canisterId: Principal.fromText(ids.learning_content) });
    const unit = ids.units[0];
    const unitView = await content.get_unit(unit.unit_id);
    assert.equal(unitView.length, 1, `learning_content knows ${unit.unit_id}`);

    // submit_quiz (update). The first submission on a fresh shard makes it fetch an allowance
    // from the hub; `RewardsUnavailable` means "not counted, try again" (bounded retries).
    const shardX = Actor.createActorWithExtendedDetails(shardIdl, { agent, canisterId: shardId });
    let outcome;
    for (let attempt = 0; ; attempt++) {
      const r = await shardX.submit_quiz(unit.unit_id, unit.answers);
      assert.ok(r.certificate instanceof Certificate, 'submit_quiz reply is certified');
      if (errKind(r.result) === 'RewardsUnavailable' && attempt < 10) {
        await sleep(500);
        continue;
      }
      outcome = ok(r.result, 'submit_quiz');
      break;
    }
    assert.equal(outcome.passed, true, 'the answer key from platform-deploy passes');
    assert.ok(outcome.reward_e8s > 0n, 'a pass earns a reward');
    assert.equal(outcome.staked_e8s, outcome.reward_e8s);
    assert.ok(!('correct' in outcome), 'the reply does not say how many answers were right (issue 11)');
    assert.equal(outcome.total, unit.answers.length);

    // A second pass of the same unit is refused by the canister.
    assert.equal(errKind(await shard.submit_quiz(unit.unit_id, unit.answers)), 'AlreadyCompleted');

    // Reads by query: the agent checks the node signatures of each reply.
    const view = ok(await shard.get_my_profile(), 'get_my_profile');
    assert.equal(view.staked_e8s, outcome.reward_e8s);
    assert.equal(view.completed_units, 1n);
    assert.deepEqual(ok(await shard.get_my_progress(0n, 10n), 'get_my_progress'), [unit.unit_id]);

    // The same query at the HTTP level: replied, with node signatures (verified by the agent).
    const raw = await agent.query(shardId, { methodName: 'get_my_profile', arg: IDL.encode([], []) });
    assert.equal(raw.status, 'replied');
    assert.ok(Array.isArray(raw.signatures) && raw.signatures.length > 0, 'the query reply is signed');
    const nodeKeys = await agent.fetchSubnetKeys(shardId);
    assert.ok(nodeKeys.size > 0, 'node keys are readable from the subnet state');
    for (const der of nodeKeys.values()) {
      assert.match(Buffer.from(der).toString('hex'), /^302a300506032b6570032100[0-9a-f]{64}$/, 'Ed25519 node key');
    }

    // Unstake everything: the shard has the hub mint it on the reward ledger.
    const w0 = ok(await shard.unstake(view.staked_e8s), 'unstake');
    assert.equal(w0.amount_e8s, view.staked_e8s);
    assert.equal(w0.to.toText(), me.toText());
    const settled = await waitFor(
      async () => {
        const ws = ok(await shard.get_my_withdrawals(0n, 10n), 'get_my_withdrawals');
        const w = ws.find((x) => x.id === w0.id);
        assert.ok(w, 'the withdrawal is listed');
        if ('Failed' in w.state) assert.fail(`withdrawal failed: ${w.state.Failed.reason}`);
        return 'Completed' in w.state ? w : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 500, what: 'the withdrawal to complete' },
    );
    t.diagnostic(`withdrawal ${settled.id} minted at ledger block ${settled.state.Completed.block_index}`);
    assert.equal(ok(await shard.get_my_profile(), 'get_my_profile').staked_e8s, 0n);

    // The learner's ICRC-1 balance through @icp-sdk/canisters: by (signed) query and certified.
    const ledger = IcrcLedgerCanister.create({ agent, canisterId: Principal.fromText(ids.reward_ledger) });
    assert.equal(await ledger.balance({ owner: me, certified: false }), w0.amount_e8s);
    assert.equal(await ledger.balance({ owner: me, certified: true }), w0.amount_e8s);
    const stats = await hub.get_global_stats();
    assert.ok(stats.total_minted_e8s >= w0.amount_e8s);

    // Wrong identities: each call is refused, by the canister's ingress filter (inspect_message,
    // before execution: the agent surfaces the refusal) or by the query itself.
    const refusedAtIngress = (e) => /refuses this ingress message/.test(String(e?.message ?? e));
    const stranger = Secp256k1KeyIdentity.generate();
    const strangerAgent = await agentFor(server, stranger);
    const strangerShard = Actor.createActor(shardIdl, { agent: strangerAgent, canisterId: shardId });
    // Only the hub may register users on a shard.
    await assert.rejects(strangerShard.register_user(stranger.getPrincipal()), refusedAtIngress);
    await assert.rejects(shard.register_user(me), refusedAtIngress, 'not even the learner');
    // Another principal has no profile, no balance to unstake, and cannot touch the learner's.
    assert.equal(errKind(await strangerShard.get_my_profile()), 'NotRegistered');
    await assert.rejects(strangerShard.unstake(1n), refusedAtIngress);
    await assert.rejects(strangerShard.submit_quiz(unit.unit_id, unit.answers), refusedAtIngress);
    // Governance-only methods trap for anyone else: the agent surfaces the canister's reject.
    const strangerHub = Actor.createActor(hubIdl, { agent: strangerAgent, canisterId: hubId });
    await assert.rejects(
      strangerHub.set_shard_status({ shard_id: shardId, disabled: true, reason: 'not governance' }),
      (e) => /reject|trap/i.test(String(e?.message ?? e)),
    );
    assert.equal((await shard.get_shard_stats()).disabled, false, 'the refused call changed nothing');
    // The anonymous principal cannot register.
    const anonAgent = await HttpAgent.create({ host: server.url, rootKey: server.rootKey, retryTimes: 0 });
    const anonHub = Actor.createActor(hubIdl, { agent: anonAgent, canisterId: hubId });
    await assert.rejects(anonHub.register([]), refusedAtIngress);
    // Shard-only hub methods refuse a learner.
    await assert.rejects(
      strangerHub.request_allowance({
        user_count: 0n,
        total_staked_e8s: 0n,
        wants_allowance: true,
        quizzes_passed_delta: 0n,
        stable_memory_bytes: [],
        settled_below_withdrawal_id: [],
      }),
      refusedAtIngress,
    );
  });

  test('verification is really on: another root key, or a tampered query signature, is refused', async () => {
    const hubId = Principal.fromText(ids.staking_hub);
    const trustError = (re) => (e) => e instanceof TrustError && re.test(String(e.message));
    // A valid BLS key of another network (the IC mainnet's): certificates do not verify.
    const mainnet = await agentFor(server, Ed25519KeyIdentity.generate(), { rootKey: hexToBytes(IC_ROOT_KEY) });
    const hubMainnet = Actor.createActor(hubIdl, { agent: mainnet, canisterId: hubId });
    await assert.rejects(hubMainnet.register([]), trustError(/Invalid signature/), 'update: certificate refused');
    await assert.rejects(hubMainnet.get_global_stats(), trustError(/Invalid signature/), 'query: node keys refused');

    // The right root key, but one bit of the node's query signature flipped in transit.
    const tampering = async (input, init) => {
      const res = await fetch(input, init);
      if (!String(input).endsWith('/query')) return res;
      const body = Cbor.decode(new Uint8Array(await res.arrayBuffer()));
      assert.ok(body.signatures?.length > 0, 'the query reply carries node signatures');
      body.signatures[0].signature[5] ^= 1;
      return new Response(Cbor.encode(body), { status: res.status, headers: res.headers });
    };
    const tampered = await agentFor(server, Ed25519KeyIdentity.generate(), { fetch: tampering });
    const hubTampered = Actor.createActor(hubIdl, { agent: tampered, canisterId: hubId });
    await assert.rejects(hubTampered.get_global_stats(), trustError(/Query signature verification failed/));
    // The same agent without the tampering reads fine.
    const honest = await agentFor(server, Ed25519KeyIdentity.generate());
    assert.ok((await Actor.createActor(hubIdl, { agent: honest, canisterId: hubId }).get_global_stats()).users >= 1n);
  });

  test('fetchRootKey returns the key of the state directory', async () => {
    const agent = await HttpAgent.create({
      host: server.url,
      identity: Ed25519KeyIdentity.generate(),
      shouldFetchRootKey: true,
      retryTimes: 0,
    });
    const status = await agent.status();
    assert.deepEqual(new Uint8Array(status.root_key), server.rootKey);
    assert.deepEqual(new Uint8Array(await agent.fetchRootKey()), server.rootKey);
    // Certificates and query signatures still verify against the fetched key.
    const hub = Actor.createActor(hubIdl, { agent, canisterId: Principal.fromText(ids.staking_hub) });
    const stats = await hub.get_global_stats();
    assert.ok(stats.users >= 1n);
    const shardId = ok(await hub.register([]), 'register with a fetched root key');
    assert.ok(shardId instanceof Principal);
  });
});
