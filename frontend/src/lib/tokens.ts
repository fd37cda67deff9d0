// Token amounts: e8s (bigint) <-> text, exactly (string and bigint math, never floats).

export const DECIMALS = 8;
export const E8S_PER_TOKEN = 100_000_000n;
/** The largest amount a `nat64` holds. */
export const MAX_NAT64 = (1n << 64n) - 1n;
/** The platform's hard cap: 4.2 B tokens (`HARD_CAP_E8S` in the canisters). */
export const HARD_CAP_E8S = 4_200_000_000n * E8S_PER_TOKEN;

function groupThousands(digits: string): string {
  return digits.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

/**
 * `1234560000n` → `"12.3456 LRN"`: the integer part grouped by thousands, trailing fractional
 * zeros dropped (at least `minFraction` digits kept), no rounding.
 */
export function formatE8s(e8s: bigint, symbol = '', opts: { minFraction?: number; decimals?: number } = {}): string {
  const decimals = opts.decimals ?? DECIMALS;
  const minFraction = opts.minFraction ?? 0;
  const negative = e8s < 0n;
  const abs = negative ? -e8s : e8s;
  const unit = 10n ** BigInt(decimals);
  const whole = abs / unit;
  let frac = (abs % unit).toString().padStart(decimals, '0').replace(/0+$/, '');
  if (frac.length < minFraction) frac = frac.padEnd(minFraction, '0');
  const text = `${negative ? '-' : ''}${groupThousands(whole.toString())}${frac ? `.${frac}` : ''}`;
  return symbol ? `${text} ${symbol}` : text;
}

export type ParseResult = { ok: true; e8s: bigint } | { ok: false; error: string };

/**
 * `"12.3456"` → `1234560000n`. Accepts digits with one optional `.` and at most 8 decimals;
 * spaces, `_` and `,` thousands separators are ignored; a trailing symbol is not accepted.
 */
export function parseTokens(input: string, decimals = DECIMALS): ParseResult {
  const text = input.trim().replace(/[\s_,]/g, '');
  if (text === '') return { ok: false, error: 'Enter an amount.' };
  if (text.startsWith('-')) return { ok: false, error: 'The amount cannot be negative.' };
  const m = /^(\d*)(?:\.(\d*))?$/.exec(text);
  if (!m || (m[1] === '' && (m[2] ?? '') === '')) return { ok: false, error: 'Enter a number, like 12.5.' };
  const whole = m[1] || '0';
  const frac = m[2] ?? '';
  if (frac.length > decimals) return { ok: false, error: `At most ${decimals} decimal places are possible.` };
  const e8s = BigInt(whole) * 10n ** BigInt(decimals) + BigInt(frac.padEnd(decimals, '0') || '0');
  if (e8s === 0n) return { ok: false, error: 'The amount must be more than zero.' };
  if (e8s > MAX_NAT64) return { ok: false, error: 'That amount is too large.' };
  return { ok: true, e8s };
}

/** `part / whole` as a percentage with two decimals (`"12.34"`), exact (truncated); `"0.00"` for a zero whole. */
export function percent(part: bigint, whole: bigint): string {
  if (whole <= 0n) return '0.00';
  const basisPoints = (part * 10_000n) / whole;
  const clamped = basisPoints > 10_000n ? 10_000n : basisPoints < 0n ? 0n : basisPoints;
  return `${clamped / 100n}.${(clamped % 100n).toString().padStart(2, '0')}`;
}

/** `"abcdef…"`: the first `n` characters of a hex hash, for tables. */
export function shortHash(hash: string, n = 12): string {
  return hash.length > n ? `${hash.slice(0, n)}…` : hash;
}
