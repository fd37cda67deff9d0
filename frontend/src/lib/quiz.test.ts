import { expect, test } from 'vitest';
import { attemptsLeft, utcDay, collectAnswers, paragraphs } from './quiz';

test('utcDay', () => {
  expect(utcDay(0)).toBe(0n);
  expect(utcDay(86_400_000 * 3 + 5)).toBe(3n);
});

test('attemptsLeft', () => {
  const now = 86_400_000 * 100 + 1000;
  expect(attemptsLeft(5, 2, 100n, now)).toBe(3);
  expect(attemptsLeft(5, 7, 100n, now)).toBe(0);
  expect(attemptsLeft(5, 4, 99n, now)).toBe(5); // counters from an earlier day
});

test('collectAnswers', () => {
  expect(collectAnswers([1, 0, 2], 3)).toEqual({ ok: true, answers: [1, 0, 2] });
  expect(collectAnswers([1, undefined, null], 3)).toEqual({ ok: false, missing: [2, 3] });
  expect(collectAnswers([], 2)).toEqual({ ok: false, missing: [1, 2] });
  expect(collectAnswers([], 0)).toEqual({ ok: true, answers: [] });
});

test('paragraphs', () => {
  expect(paragraphs('One\nline two\n\n\nTwo\r\n\r\nThree  ')).toEqual(['One\nline two', 'Two', 'Three']);
  expect(paragraphs('')).toEqual([]);
});
