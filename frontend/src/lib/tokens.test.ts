import { describe, expect, test } from 'vitest';
import { formatE8s, parseTokens, percent, shortHash, HARD_CAP_E8S, MAX_NAT64 } from './tokens';

describe('formatE8s', () => {
  test.each([
    [0n, '0 LRN'],
    [1n, '0.00000001 LRN'],
    [1_234_560_000n, '12.3456 LRN'],
    [100_000_000n, '1 LRN'],
    [10_000_000_000n, '100 LRN'],
    [HARD_CAP_E8S, '4,200,000,000 LRN'],
    [MAX_NAT64, '184,467,440,737.09551615 LRN'],
    [-150_000_000n, '-1.5 LRN'],
  ])('%s → %s', (e8s, text) => {
    expect(formatE8s(e8s, 'LRN')).toBe(text);
  });
  test('without symbol and with minimum fraction digits', () => {
    expect(formatE8s(150_000_000n)).toBe('1.5');
    expect(formatE8s(100_000_000n, '', { minFraction: 2 })).toBe('1.00');
  });
});

describe('parseTokens', () => {
  test.each([
    ['12.3456', 1_234_560_000n],
    ['1', 100_000_000n],
    ['0.00000001', 1n],
    ['.5', 50_000_000n],
    ['5.', 500_000_000n],
    [' 1,000.25 ', 100_025_000_000n],
    ['184467440737.09551615', MAX_NAT64],
    ['000012.30', 1_230_000_000n],
  ])('%s → %s', (text, e8s) => {
    expect(parseTokens(text)).toEqual({ ok: true, e8s });
  });
  test.each([
    ['', /Enter an amount/],
    ['abc', /Enter a number/],
    ['.', /Enter a number/],
    ['1.2.3', /Enter a number/],
    ['-1', /negative/],
    ['0', /more than zero/],
    ['0.000000001', /8 decimal/],
    ['184467440737.09551616', /too large/],
    ['1e3', /Enter a number/],
    ['12 LRN', /Enter a number/],
  ])('%s is refused', (text, re) => {
    const r = parseTokens(text);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error).toMatch(re);
  });
  test('round trip is exact', () => {
    for (const e8s of [1n, 99_999_999n, 123_456_789_012_345n, MAX_NAT64]) {
      const r = parseTokens(formatE8s(e8s));
      expect(r).toEqual({ ok: true, e8s });
    }
  });
});

describe('percent and shortHash', () => {
  test('percent', () => {
    expect(percent(1n, 3n)).toBe('33.33');
    expect(percent(0n, 0n)).toBe('0.00');
    expect(percent(5n, 4n)).toBe('100.00');
    expect(percent(1n, HARD_CAP_E8S)).toBe('0.00');
    expect(percent(HARD_CAP_E8S / 2n, HARD_CAP_E8S)).toBe('50.00');
  });
  test('shortHash', () => {
    expect(shortHash('0123456789abcdef')).toBe('0123456789ab…');
    expect(shortHash('abc')).toBe('abc');
  });
});
