import { randomBytes } from 'node:crypto';
import { describe, expect, test } from 'vitest';
import { isFhirError } from '../fhir/errors.ts';
import { cursorKeyId, maxAgeMs, openCursor, sealCursor, type CursorSlot, type KeyRing } from './cursor.ts';

const slots: CursorSlot[] = [
  { cast: 'numeric', nullable: true },
  { cast: 'text', nullable: false },
  { cast: 'text', nullable: false },
];
const ring: KeyRing = { newest: 1, keys: new Map([[1, randomBytes(32)]]) };
const cursor = { direction: 'next' as const, values: ['39.7', 'Observation', 'abc-123'] };

function refused(fn: () => unknown): boolean {
  try {
    fn();
    return false;
  } catch (err) {
    return isFhirError(err) && err.status === 400 && err.outcome.issue[0]?.expression?.[0] === '_cursor';
  }
}

describe('sealed cursors', () => {
  test('open to what was sealed, and show none of it', () => {
    const sealed = sealCursor(ring, cursor, 'search A');
    expect(openCursor(ring, sealed, 'search A', slots)).toEqual(cursor);
    const bytes = Buffer.from(sealed, 'base64url').toString('latin1');
    for (const v of cursor.values) expect(bytes).not.toContain(v);
    expect(sealCursor(ring, cursor, 'search A')).not.toBe(sealed);
  });

  test('a cursor of another search or caller, altered, truncated, forged or expired is a 400', () => {
    const sealed = sealCursor(ring, cursor, 'search A');
    const bytes = Buffer.from(sealed, 'base64url');
    for (let i = 0; i < bytes.length; i += 7) {
      const flipped = Buffer.from(bytes);
      flipped[i] = (flipped[i] ?? 0) ^ 0x20;
      expect(refused(() => openCursor(ring, flipped.toString('base64url'), 'search A', slots)), `byte ${i}`).toBe(true);
    }
    expect(refused(() => openCursor(ring, sealed, 'search B', slots))).toBe(true);
    expect(refused(() => openCursor(ring, sealed.slice(0, -4), 'search A', slots))).toBe(true);
    expect(refused(() => openCursor(ring, Buffer.from(JSON.stringify(['n', '1', 'Observation', 'x'])).toString('base64url'), 'search A', slots))).toBe(true);
    expect(refused(() => openCursor(ring, sealed, 'search A', slots, Date.now() + maxAgeMs + 1000))).toBe(true);
    expect(refused(() => openCursor(ring, `${sealed}=`, 'search A', slots))).toBe(true);
  });

  test('values that could not be cast back are refused even when sealed by us', () => {
    const bad = sealCursor(ring, { direction: 'next', values: ['not a number', 'Observation', 'x'] }, 'A');
    expect(refused(() => openCursor(ring, bad, 'A', slots))).toBe(true);
    const missing = sealCursor(ring, { direction: 'next', values: [null, null, 'x'] }, 'A');
    expect(refused(() => openCursor(ring, missing, 'A', slots))).toBe(true);
    const dates: CursorSlot[] = [{ cast: 'timestamptz', nullable: false }];
    expect(openCursor(ring, sealCursor(ring, { direction: 'previous', values: ['infinity'] }, 'A'), 'A', dates).values).toEqual(['infinity']);
    expect(refused(() => openCursor(ring, sealCursor(ring, { direction: 'next', values: ['yesterday'] }, 'A'), 'A', dates))).toBe(true);
  });

  test('rotation: the newest key seals, any known key opens, a retired one does not', () => {
    const old = sealCursor(ring, cursor, 'A');
    const rotated: KeyRing = { newest: 2, keys: new Map([...ring.keys, [2, randomBytes(32)]]) };
    const fresh = sealCursor(rotated, cursor, 'A');
    expect(cursorKeyId(fresh)).toBe(2);
    expect(openCursor(rotated, old, 'A', slots)).toEqual(cursor);
    const retired: KeyRing = { newest: 2, keys: new Map([[2, rotated.keys.get(2)!]]) };
    expect(openCursor(retired, fresh, 'A', slots)).toEqual(cursor);
    expect(refused(() => openCursor(retired, old, 'A', slots))).toBe(true);
  });
});
