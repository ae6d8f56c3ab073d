/**
 * Keyset paging cursors: the sort-key values of the row a page ends (next) or
 * starts (previous) at, so that rows written meanwhile never make a page skip
 * or repeat a row, unlike OFFSET. Sealed with AES-256-GCM (node:crypto): a
 * cursor reveals nothing (no sort values, no ids), cannot be altered or
 * forged, and is bound — as GCM's additional data — to the search it came
 * from and the caller it was given to. Any failure to open one, or a cursor
 * older than `maxAgeMs`, is the same 400. Pure: the keys come from cursor-keys.ts.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { badRequest } from '../fhir/errors.ts';

export interface Cursor {
  /** The boundary row's sort values, then its resource type and id. */
  values: (string | null)[];
  direction: 'next' | 'previous';
}

export interface KeyRing {
  /** Id of the key that seals. */
  newest: number;
  keys: ReadonlyMap<number, Buffer>;
}

/** What a cursor's values must look like to be cast back (see compile-sort.ts). */
export interface CursorSlot {
  cast: 'text' | 'timestamptz' | 'numeric';
  nullable: boolean;
}

const version = 1;
/** A cursor is a way through one listing, not a bookmark: a day is enough to page through anything. */
export const maxAgeMs = 24 * 60 * 60 * 1000;
const header = 1 + 2 + 12 + 16;

export function sealCursor(ring: KeyRing, c: Cursor, bound: string, now = Date.now()): string {
  const key = ring.keys.get(ring.newest)!;
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(Buffer.from(bound, 'utf8'));
  const body = Buffer.concat([cipher.update(JSON.stringify([c.direction === 'next' ? 'n' : 'p', Math.floor(now / 1000), ...c.values]), 'utf8'), cipher.final()]);
  const head = Buffer.alloc(3);
  head.writeUInt8(version, 0);
  head.writeUInt16BE(ring.newest, 1);
  return Buffer.concat([head, iv, cipher.getAuthTag(), body]).toString('base64url');
}

/** The key id a cursor names, to fetch a newer key ring when it is unknown; undefined when malformed. */
export function cursorKeyId(raw: string): number | undefined {
  const bytes = Buffer.from(raw, 'base64url');
  return bytes.length > header && bytes[0] === version ? bytes.readUInt16BE(1) : undefined;
}

export function invalidCursor() {
  return badRequest({ es: '_cursor inválido, vencido o de otra búsqueda; vuelva a la primera página', en: 'Invalid or expired _cursor, or one from another search; start again from the first page' }, '_cursor');
}

export function openCursor(ring: KeyRing, raw: string, bound: string, slots: readonly CursorSlot[], now = Date.now()): Cursor {
  const parsed = decrypt(ring, raw, bound);
  if (!Array.isArray(parsed) || (parsed[0] !== 'n' && parsed[0] !== 'p') || typeof parsed[1] !== 'number' || parsed.length !== slots.length + 2) throw invalidCursor();
  const issued = parsed[1] * 1000;
  if (issued > now + 60_000 || now - issued > maxAgeMs) throw invalidCursor();
  const values = parsed.slice(2) as unknown[];
  if (!values.every((v, i) => inRange(v, slots[i]!))) throw invalidCursor();
  return { direction: parsed[0] === 'n' ? 'next' : 'previous', values: values as (string | null)[] };
}

function decrypt(ring: KeyRing, raw: string, bound: string): unknown {
  // base64url only: anything else (padding, other alphabets) is not ours.
  if (!/^[A-Za-z0-9_-]{1,8192}$/.test(raw)) return undefined;
  const bytes = Buffer.from(raw, 'base64url');
  if (bytes.length <= header || bytes[0] !== version) return undefined;
  const key = ring.keys.get(bytes.readUInt16BE(1));
  if (!key) return undefined;
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, bytes.subarray(3, 15));
    decipher.setAAD(Buffer.from(bound, 'utf8'));
    decipher.setAuthTag(bytes.subarray(15, header));
    return JSON.parse(Buffer.concat([decipher.update(bytes.subarray(header)), decipher.final()]).toString('utf8'));
  } catch {
    return undefined;
  }
}

const numeric = /^-?\d{1,300}(\.\d{1,300})?([eE][+-]?\d{1,4})?$/;

/** A value PostgreSQL will cast back without error (a sealed cursor is ours, but a check is cheaper than a 500). */
function inRange(v: unknown, slot: CursorSlot): boolean {
  if (v === null) return slot.nullable;
  if (typeof v !== 'string' || v.length > 2048) return false;
  if (slot.cast === 'numeric') return numeric.test(v);
  if (slot.cast === 'timestamptz') return v === 'infinity' || v === '-infinity' || !Number.isNaN(Date.parse(v));
  return !v.includes('\u0000');
}
