/**
 * What text the server accepts as data, wherever it comes from (URL, query,
 * form body, headers, token claims, JSON bodies, bundle entry URLs): no NUL
 * (PostgreSQL text and jsonb cannot hold it, so it used to surface as a 500
 * or a failed audit row) and no lone UTF-16 surrogate (it cannot be encoded
 * as UTF-8: stored, it would silently become U+FFFD, which is not what was
 * sent). Percent-encoding must decode to valid UTF-8. The limits on how much
 * a request may ask for live here too, so README and code name the same numbers.
 */
import { badRequest, type FhirError } from './errors.ts';

/** Query or form parameters per request (repeats counted). */
export const maxParameters = 200;
/** Comma-separated values in one search parameter (OR). */
export const maxValuesPerParameter = 100;
/** Keys in `_sort`. */
export const maxSortKeys = 8;
/** `_include` plus `_revinclude` (iterate forms included). */
export const maxIncludes = 20;
/** Significant digits of a number in a search value. */
export const maxNumberDigits = 100;
/** Largest decimal exponent (either sign) of a number in a search value; PostgreSQL numeric holds far more, no clinical value needs it. */
export const maxNumberExponent = 1000;

/** Why a string cannot be taken as data, or undefined when it can. */
export function textProblem(value: string): 'nul' | 'surrogate' | undefined {
  if (value.includes('\0')) return 'nul';
  if (!value.isWellFormed()) return 'surrogate';
  return undefined;
}

const why = {
  nul: { es: 'contiene el carácter NUL (U+0000)', en: 'contains the NUL character (U+0000)' },
  surrogate: { es: 'contiene un sustituto UTF-16 aislado (no es Unicode válido)', en: 'contains a lone UTF-16 surrogate (not valid Unicode)' },
  encoding: { es: 'no es UTF-8 válido (bytes o codificación por ciento)', en: 'is not valid UTF-8 (bytes or percent-encoding)' },
};

export function badText(expression: string, problem: keyof typeof why): FhirError {
  return badRequest({ es: `${expression} ${why[problem].es}`, en: `${expression} ${why[problem].en}` }, expression);
}

/** Throws a 400 naming `expression` when `value` is not acceptable text. */
export function checkText(value: string, expression: string): void {
  const problem = textProblem(value);
  if (problem) throw badText(expression, problem);
}

/** decodeURIComponent, undefined on malformed or non-UTF-8 percent-encoding. */
export function decodeStrict(raw: string, plusIsSpace: boolean): string | undefined {
  try {
    return decodeURIComponent(plusIsSpace ? raw.replaceAll('+', ' ') : raw);
  } catch {
    return undefined;
  }
}

/**
 * `a=1&b=2` (URL query, form body, If-None-Exist, bundle entry URL) as
 * decoded pairs, strictly: a 400 naming the parameter (`where` when the name
 * itself is unreadable) for bad encoding, NUL, lone surrogates or more than
 * `maxParameters` parameters. URLSearchParams would replace bad bytes with U+FFFD silently.
 */
export function parseQueryStrict(raw: string, where: string): [string, string][] {
  const pairs: [string, string][] = [];
  if (raw === '') return pairs;
  let start = 0;
  while (start <= raw.length) {
    let end = raw.indexOf('&', start);
    if (end < 0) end = raw.length;
    if (end > start) {
      if (pairs.length >= maxParameters) {
        throw badRequest({ es: `Demasiados parámetros en ${where}: el máximo es ${maxParameters}`, en: `Too many parameters in ${where}: at most ${maxParameters}` }, where, 'too-costly');
      }
      const piece = raw.slice(start, end);
      const eq = piece.indexOf('=');
      const rawName = eq < 0 ? piece : piece.slice(0, eq);
      const name = decodeStrict(rawName, true);
      if (name === undefined) throw badText(where, 'encoding');
      checkText(name, where);
      const value = decodeStrict(eq < 0 ? '' : piece.slice(eq + 1), true);
      if (value === undefined) throw badText(name, 'encoding');
      checkText(value, name);
      pairs.push([name, value]);
    }
    start = end + 1;
  }
  return pairs;
}

/**
 * The path of the first string (value or key) in a parsed JSON body that is
 * not acceptable text, as a FHIRPath-like expression from `root`.
 */
export function findBadText(value: unknown, root: string): { expression: string; problem: 'nul' | 'surrogate' } | undefined {
  // Every body is checked: first without building paths (most have nothing to report), then again to name the element.
  return hasBadText(value, 0) ? locateBadText(value, root) : undefined;
}

function hasBadText(v: unknown, depth: number): boolean {
  if (typeof v === 'string') return textProblem(v) !== undefined;
  if (v === null || typeof v !== 'object') return false;
  // JSON bodies nest at most 100 levels (json-body.ts); deeper input is judged by the slow path, which uses no recursion.
  if (depth > 200) return true;
  if (Array.isArray(v)) {
    for (const item of v) if (hasBadText(item, depth + 1)) return true;
    return false;
  }
  for (const k in v) {
    if (textProblem(k) !== undefined || hasBadText((v as Record<string, unknown>)[k], depth + 1)) return true;
  }
  return false;
}

function locateBadText(value: unknown, root: string): { expression: string; problem: 'nul' | 'surrogate' } | undefined {
  const stack: { v: unknown; path: string }[] = [{ v: value, path: root }];
  while (stack.length > 0) {
    const { v, path } = stack.pop()!;
    if (typeof v === 'string') {
      const problem = textProblem(v);
      if (problem) return { expression: path, problem };
    } else if (Array.isArray(v)) {
      for (let i = v.length - 1; i >= 0; i--) stack.push({ v: v[i], path: `${path}[${i}]` });
    } else if (v !== null && typeof v === 'object') {
      for (const [k, child] of Object.entries(v)) {
        const problem = textProblem(k);
        if (problem) return { expression: path, problem };
        stack.push({ v: child, path: `${path}.${k}` });
      }
    }
  }
  return undefined;
}
