/** Parsing of the general-purpose parameters shared by history (and later search). */
import { badRequest } from './errors.ts';
import { parseQueryStrict } from './input-text.ts';
import type { Query } from './types.ts';

export const defaultCount = 20;
export const maxCount = 1000;

/** The single value of a query parameter; repeating a single-valued parameter is an error. */
export function single(query: Query, name: string): string | undefined {
  const value = query[name];
  if (Array.isArray(value)) {
    if (value.length > 1) {
      throw badRequest({ es: `El parámetro ${name} solo admite un valor`, en: `Parameter ${name} takes a single value` }, name);
    }
    return value[0];
  }
  return value;
}

/** Every non-empty value of a query parameter that may repeat (repeats are ANDed by the caller). */
export function values(query: Query, name: string): string[] {
  const raw = query[name];
  return (Array.isArray(raw) ? raw : raw === undefined ? [] : [raw]).filter((v) => v !== '');
}

export function parseCount(query: Query): number {
  const raw = single(query, '_count');
  if (raw === undefined) {
    return defaultCount;
  }
  if (!/^\d+$/.test(raw)) {
    throw badRequest({ es: `_count debe ser un entero no negativo, no "${raw}"`, en: `_count must be a non-negative integer, not "${raw}"` }, '_count');
  }
  return Math.min(Number(raw), maxCount);
}

// FHIR dateTime/instant, https://hl7.org/fhir/R4/datatypes.html#dateTime (partial dates allowed; time needs a zone).
const dateTimePattern = /^(\d{4})(-(0[1-9]|1[0-2])(-(0[1-9]|[12]\d|3[01])(T([01]\d|2[0-3]):[0-5]\d(:([0-5]\d|60)(\.\d{1,9})?)?(Z|[+-]((0\d|1[0-3]):[0-5]\d|14:00)))?)?)?$/;

/** Parses a dateTime parameter as the instant it starts at (a partial date starts at its first moment, UTC). */
export function parseInstantParam(query: Query, name: string): Date | undefined {
  const raw = single(query, name);
  if (raw === undefined) {
    return undefined;
  }
  const m = dateTimePattern.exec(raw);
  const date = m ? new Date(m[6] ? raw : `${m[1]}-${m[3] ?? '01'}-${m[5] ?? '01'}T00:00:00Z`) : undefined;
  if (!date || Number.isNaN(date.getTime())) {
    throw badRequest(
      { es: `${name} debe ser una fecha FHIR (AAAA[-MM[-DD[Thh:mm[:ss]Z]]]), no "${raw}"`, en: `${name} must be a FHIR dateTime (YYYY[-MM[-DD[Thh:mm[:ss]Z]]]), not "${raw}"` },
      name,
    );
  }
  return date;
}

/** A query string (as in a bundle entry's request.url or a conditional reference) as a Query: repeated keys become arrays; bad text is a 400 (see input-text.ts). */
export function queryFromString(search: string, where = 'url'): Query {
  const query: Query = {};
  for (const [key, value] of parseQueryStrict(search.startsWith('?') ? search.slice(1) : search, where)) {
    const existing = query[key];
    query[key] = existing === undefined ? value : Array.isArray(existing) ? [...existing, value] : [existing, value];
  }
  return query;
}
