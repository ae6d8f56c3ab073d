import { describe, expect, it } from 'vitest';
import { isLeapYear, isRealDate, isoDate } from './calendar-date.ts';

describe('calendar dates', () => {
  it('knows the Gregorian leap years', () => {
    expect(isLeapYear(1984)).toBe(true);
    expect(isLeapYear(1900)).toBe(false);
    expect(isLeapYear(2000)).toBe(true);
    expect(isLeapYear(2023)).toBe(false);
  });

  it('accepts only dates that exist', () => {
    expect(isRealDate(1984, 2, 29)).toBe(true);
    expect(isRealDate(1983, 2, 29)).toBe(false);
    expect(isRealDate(1984, 2, 31)).toBe(false);
    expect(isRealDate(1984, 4, 31)).toBe(false);
    expect(isRealDate(1984, 12, 31)).toBe(true);
    expect(isRealDate(1984, 13, 1)).toBe(false);
    expect(isRealDate(1984, 0, 1)).toBe(false);
    expect(isRealDate(1984, 1, 0)).toBe(false);
  });

  it('formats YYYY-MM-DD', () => {
    expect(isoDate(2005, 5, 5)).toBe('2005-05-05');
  });
});
