// Quiz helpers. Pure.

/** The UTC day number (days since the epoch) of a time in milliseconds, as the shards count days. */
export function utcDay(nowMs: number): bigint {
  return BigInt(Math.floor(nowMs / 86_400_000));
}

/**
 * Attempts left today: the daily limit less today's attempts (the shard's counters refer to
 * `profileDay`; on a later day they start again from zero).
 */
export function attemptsLeft(limit: number, attemptsToday: number, profileDay: bigint, nowMs: number): number {
  const used = profileDay === utcDay(nowMs) ? attemptsToday : 0;
  return Math.max(0, limit - used);
}

/** The answers to submit (one option index per question), or the 1-based numbers of unanswered questions. */
export function collectAnswers(
  selected: ReadonlyArray<number | undefined | null>,
  questionCount: number,
): { ok: true; answers: number[] } | { ok: false; missing: number[] } {
  const missing: number[] = [];
  const answers: number[] = [];
  for (let q = 0; q < questionCount; q++) {
    const a = selected[q];
    if (a === undefined || a === null || !Number.isInteger(a) || a < 0) missing.push(q + 1);
    else answers.push(a);
  }
  return missing.length ? { ok: false, missing } : { ok: true, answers };
}

/** A unit's body as paragraphs (blank-line separated; single newlines kept as line breaks). */
export function paragraphs(body: string): string[] {
  return body
    .replace(/\r\n/g, '\n')
    .split(/\n\s*\n/)
    .map((p) => p.trim())
    .filter((p) => p !== '');
}
