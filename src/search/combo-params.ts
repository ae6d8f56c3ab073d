/**
 * Combined search parameters (issue 17), as HAPI's "combo non-unique"
 * SearchParameters: for a few AND-combinations of parameters that worklists
 * always send together, each resource gets one index row per combination of
 * its values (`sp_combo`, written with the other index rows), so
 * `Task?owner=Organization/x&status=requested,received` is one index range
 * (one key per owner × status pair) instead of every Task of the owner probed
 * for its status. The compiler uses a combination only when the search
 * carries all its parameters with plain values (compile-driver.ts); the
 * parameters then match exactly as on their own tables:
 * - reference: a local reference `Type/id` (url NULL), as `owner=Organization/x`;
 * - token: the code, any system, as `status=requested`.
 * A combination may also carry the values of one token and one date parameter
 * that its searches sort by (`-priority,authored-on`): the sort keys then come
 * from the same index range, no probe per match. They are carried only when the
 * resource has at most one value of each (`carried`); otherwise the compiler
 * reads them from their own tables for that row, as without a combination.
 * Adding a combination here needs `npm run reindex` for the rows already stored
 * (the migration that created the table filled the ones below, without carried values).
 */
import type { DateRow, IndexRows } from './extract-index-values.ts';
import type { Filter, ReferenceValue, TokenValue } from './search-request.ts';

export interface Combo {
  type: string;
  /** Component parameter codes, in key order: each a reference or a token parameter of `type`. */
  params: readonly string[];
  /** Sort parameters whose values the rows carry: a token and a date parameter of `type`. */
  carries?: Carried;
}

export interface Carried {
  token?: string;
  date?: string;
}

export const combos: readonly Combo[] = [
  // The receiving unit's worklist and the referring unit's list (issue 17).
  { type: 'Task', params: ['owner', 'status'], carries: { token: 'priority', date: 'authored-on' } },
  { type: 'Task', params: ['requester', 'status'], carries: { token: 'priority', date: 'authored-on' } },
];

export interface ComboRow {
  combo: string;
  key: string;
  /** Whether `code`, `lo` and `hi` are the resource's only values of the carried parameters (null: none). */
  carried: boolean;
  code: string | null;
  lo: Date | null;
  hi: Date | null;
}

/** A combination's name in `sp_combo.combo`. */
export function comboName(c: Combo): string {
  return c.params.join('+');
}

/** The key of one combination of values: escaped so that no two combinations share a key. */
export function comboKey(values: readonly string[]): string {
  return values.map((v) => v.replaceAll('\\', '\\\\').replaceAll('|', '\\|')).join('|');
}

/** Every combination of the values of `lists` (one value from each), or none when a list is empty. */
function product(lists: readonly (readonly string[])[]): string[][] {
  let out: string[][] = [[]];
  for (const list of lists) out = out.flatMap((prefix) => list.map((v) => [...prefix, v]));
  return out;
}

/** A resource's values of one component, as the key spells them. */
function storedValues(rows: IndexRows, param: string): string[] {
  const refs = rows.sp_reference.filter((r) => r.param === param && r.url === null && r.target_type !== null && r.target_id !== null).map((r) => `${r.target_type}/${r.target_id}`);
  const codes = rows.sp_token.filter((r) => r.param === param && r.code !== null).map((r) => r.code!);
  return [...new Set([...refs, ...codes])];
}

/** The `sp_combo` rows of a resource of `type` whose other index rows are `rows`. */
export function comboRowsOf(type: string, rows: IndexRows): ComboRow[] {
  const out: ComboRow[] = [];
  for (const c of combos) {
    if (c.type !== type) continue;
    const combo = comboName(c);
    const codes = c.carries?.token !== undefined ? rows.sp_token.filter((r) => r.param === c.carries!.token) : [];
    const dates: DateRow[] = c.carries?.date !== undefined ? rows.sp_date.filter((r) => r.param === c.carries!.date) : [];
    const carried = c.carries !== undefined && codes.length <= 1 && dates.length <= 1;
    const values = carried ? { code: codes[0]?.code ?? null, lo: dates[0]?.lo ?? null, hi: dates[0]?.hi ?? null } : { code: null, lo: null, hi: null };
    for (const key of product(c.params.map((p) => storedValues(rows, p)))) out.push({ combo, key: comboKey(key), carried, ...values });
  }
  return out;
}

/** More keys than this and the combination is not used (the component's own index is then the better start). */
const maxKeys = 200;

/** A filter's values as a combination's component spells them, or undefined when the filter cannot be one. */
function queryValues(f: Filter, code: string): string[] | undefined {
  if (f.kind !== 'param' || f.param.code !== code || f.modifier !== undefined) return undefined;
  if (f.param.type === 'token') {
    const values = f.values as TokenValue[];
    return values.every((v) => v.code !== undefined && v.system === undefined) ? values.map((v) => v.code!) : undefined;
  }
  if (f.param.type === 'reference') {
    const values = f.values as ReferenceValue[];
    return values.every((v) => v.url === undefined && v.type !== undefined && v.id !== undefined) ? values.map((v) => `${v.type}/${v.id}`) : undefined;
  }
  return undefined;
}

export interface ComboMatch {
  combo: string;
  carries?: Carried;
  keys: string[];
  /** Indexes in the search's filters of the filters the combination answers. */
  filters: number[];
}

/** The combination that answers the most of a single-type search's filters, with the keys to look up. */
export function matchCombo(type: string, filters: readonly Filter[]): ComboMatch | undefined {
  let best: ComboMatch | undefined;
  for (const c of combos) {
    if (c.type !== type) continue;
    const used: number[] = [];
    const lists: string[][] = [];
    for (const code of c.params) {
      const index = filters.findIndex((f, i) => !used.includes(i) && queryValues(f, code) !== undefined);
      if (index < 0) break;
      used.push(index);
      lists.push(queryValues(filters[index]!, code)!);
    }
    if (used.length !== c.params.length || lists.reduce((n, l) => n * l.length, 1) > maxKeys) continue;
    if (!best || used.length > best.filters.length) best = { combo: comboName(c), ...(c.carries ? { carries: c.carries } : {}), keys: product(lists).map(comboKey), filters: used };
  }
  return best;
}
