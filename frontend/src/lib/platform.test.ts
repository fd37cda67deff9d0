import { describe, expect, test } from 'vitest';
import { parsePlatformJson, parsePlatformText, platformSource, agentHost, IC_API_HOST } from './platform';
import { UserFacingError } from './errors';

const hub = 'ryjl3-tyaaa-aaaaa-aaaba-cai';
const fe = 'rrkah-fqaaa-aaaaa-aaaaq-cai';

describe('parsePlatformJson', () => {
  test('valid local and ic', () => {
    expect(parsePlatformJson({ network: 'local', staking_hub: hub, frontend: fe })).toEqual({ network: 'local', staking_hub: hub, frontend: fe });
    expect(parsePlatformJson({ network: 'ic', staking_hub: ` ${hub} `, frontend: fe, extra: 1 })).toEqual({ network: 'ic', staking_hub: hub, frontend: fe });
  });
  test.each([
    [null, /not a JSON object/],
    [[1], /not a JSON object/],
    ['x', /not a JSON object/],
    [{ staking_hub: hub, frontend: fe }, /unknown network/],
    [{ network: 'mainnet', staking_hub: hub, frontend: fe }, /unknown network: "mainnet"/],
    [{ network: 'local', frontend: fe }, /no "staking_hub"/],
    [{ network: 'local', staking_hub: 'not-a-principal', frontend: fe }, /invalid "staking_hub"/],
    [{ network: 'local', staking_hub: hub }, /no "frontend"/],
    [{ network: 'local', staking_hub: hub, frontend: 42 }, /no "frontend"/],
  ])('%o is refused', (data, re) => {
    expect(() => parsePlatformJson(data)).toThrow(UserFacingError);
    expect(() => parsePlatformJson(data)).toThrow(re);
  });
  test('frontend optional when not required', () => {
    expect(parsePlatformJson({ network: 'local', staking_hub: hub }, { requireFrontend: false })).toEqual({ network: 'local', staking_hub: hub });
  });
});

describe('parsePlatformText', () => {
  test('JSON text', () => {
    expect(parsePlatformText(JSON.stringify({ network: 'local', staking_hub: hub, frontend: fe }), 'application/json').network).toBe('local');
  });
  test('an HTML fallback page is reported as missing settings', () => {
    expect(() => parsePlatformText('<!doctype html><html></html>', 'text/html; charset=utf-8')).toThrow(/not found/);
  });
  test('invalid JSON', () => {
    expect(() => parsePlatformText('{nope', 'application/json')).toThrow(/not valid JSON/);
  });
});

describe('platformSource', () => {
  test('default: /platform.json', () => {
    expect(platformSource({})).toEqual({ kind: 'fetch', url: '/platform.json' });
  });
  test('VITE_PLATFORM_JSON_URL', () => {
    expect(platformSource({ VITE_PLATFORM_JSON_URL: 'http://127.0.0.1:9/p.json' })).toEqual({ kind: 'fetch', url: 'http://127.0.0.1:9/p.json' });
  });
  test('VITE_STAKING_HUB_ID wins, network defaults to local', () => {
    expect(platformSource({ VITE_STAKING_HUB_ID: hub, VITE_PLATFORM_JSON_URL: '/x' })).toEqual({
      kind: 'inline',
      platform: { network: 'local', staking_hub: hub },
    });
    expect(platformSource({ VITE_STAKING_HUB_ID: hub, VITE_NETWORK: 'ic', VITE_FRONTEND_ID: fe })).toEqual({
      kind: 'inline',
      platform: { network: 'ic', staking_hub: hub, frontend: fe },
    });
  });
  test('a bad override is reported', () => {
    expect(() => platformSource({ VITE_STAKING_HUB_ID: 'bad' })).toThrow(/invalid "staking_hub"/);
    expect(() => platformSource({ VITE_STAKING_HUB_ID: hub, VITE_NETWORK: 'test' })).toThrow(/unknown network/);
  });
});

describe('agentHost', () => {
  test('local: the page origin', () => {
    expect(agentHost('local', 'http://bkyz2-fmaaa-aaaaa-qaaaq-cai.localhost:4943')).toBe('http://bkyz2-fmaaa-aaaaa-qaaaq-cai.localhost:4943');
  });
  test('ic: the API boundary nodes', () => {
    expect(agentHost('ic', 'https://x.icp0.io')).toBe(IC_API_HOST);
  });
  test('override', () => {
    expect(agentHost('local', 'http://localhost:5173', 'http://127.0.0.1:4943/')).toBe('http://127.0.0.1:4943');
  });
});
