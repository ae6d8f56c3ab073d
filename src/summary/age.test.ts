import { describe, expect, test } from 'vitest';
import { ageOn, todayInMexico } from './age.ts';

describe('ageOn', () => {
  test('completed years on the day', () => {
    expect(ageOn('1984-02-10', '2026-11-23')).toBe(42);
    expect(ageOn('1984-02-10', '2026-02-10')).toBe(42);
    expect(ageOn('1984-02-10', '2026-02-09')).toBe(41);
    expect(ageOn('2000-02-29', '2025-02-28')).toBe(24);
    expect(ageOn('2000-02-29', '2025-03-01')).toBe(25);
  });
  test('partial birth dates answer only when the missing part cannot change the age', () => {
    expect(ageOn('1984-02', '2026-03-01')).toBe(42);
    expect(ageOn('1984-02', '2026-01-31')).toBe(41);
    expect(ageOn('1984-02', '2026-02-15')).toBeUndefined();
    expect(ageOn('1984', '2026-06-01')).toBeUndefined();
    expect(ageOn('1984', '2026-12-31')).toBe(42);
  });
  test('nonsense is undefined, not zero', () => {
    expect(ageOn('mañana', '2026-01-01')).toBeUndefined();
    expect(ageOn('2030-01-01', '2026-01-01')).toBeUndefined();
  });
  test('today is the Mexico City calendar day', () => {
    expect(todayInMexico(new Date('2026-11-24T03:00:00Z'))).toBe('2026-11-23');
  });
});
