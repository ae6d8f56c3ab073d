/**
 * Keyset paging cursors (opaque to clients): the sort-key values of the row a
 * page ends (next) or starts (previous) at, so that rows written meanwhile
 * never make a page skip or repeat a row, unlike OFFSET.
 */
import { badRequest } from '../fhir/errors.ts';

export interface Cursor {
  /** The boundary row's sort values, then its resource type and id. */
  values: (string | null)[];
  direction: 'next' | 'previous';
}

export function encodeCursor(c: Cursor): string {
  return Buffer.from(JSON.stringify([c.direction === 'next' ? 'n' : 'p', ...c.values]), 'utf8').toString('base64url');
}

export function decodeCursor(raw: string, expectedValues: number): Cursor {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8'));
  } catch {
    parsed = undefined;
  }
  if (
    !Array.isArray(parsed) ||
    (parsed[0] !== 'n' && parsed[0] !== 'p') ||
    parsed.length !== expectedValues + 1 ||
    !parsed.slice(1).every((v) => v === null || (typeof v === 'string' && v.length <= 2048))
  ) {
    throw badRequest({ es: '_cursor inválido o de otra búsqueda; vuelva a la primera página', en: 'Invalid _cursor, or one from another search; start again from the first page' }, '_cursor');
  }
  return { direction: parsed[0] === 'n' ? 'next' : 'previous', values: parsed.slice(1) as (string | null)[] };
}
