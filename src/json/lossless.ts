/**
 * Lossless JSON for resources: a FHIR decimal's precision is significant
 * (https://hl7.org/fhir/R4/datatypes.html#decimal), so `1.50`, `105.00`,
 * `1e-400` or `123456789012345678901234567890` must come back as written.
 *
 * Parsed resources stay plain objects with JavaScript numbers, so validation,
 * FHIRPath and indexing need no change. Where a number's text differs from
 * what JavaScript would print for it, the text is remembered beside the
 * object that holds it (a WeakMap keyed by that object, so it lives exactly as
 * long as the object) and `stringifyJson` writes it back with `JSON.rawJSON`.
 * A remembered text is used only while the property still holds the number
 * parsed from it: a value changed later (a patch, a stamp) is written as the
 * new number.
 *
 * Cost: most resources have no such number, and a quick scan of the text
 * (about half a plain parse) sends them through the plain `JSON.parse`; only
 * the others pay for the reviver (about five times a plain parse).
 */

interface RawNumber {
  text: string;
  value: number;
}

const rawNumbers = new WeakMap<object, Map<string, RawNumber>>();
/** Objects with a remembered number somewhere below them: only those need the replacer when written. */
const holdsRaw = new WeakSet<object>();
const rawJSON = (JSON as unknown as { rawJSON(text: string): unknown }).rawJSON;

/**
 * A number token outside a string is followed by `,`, `}` or `]`; inside
 * strings (times such as "10:30") this pattern rarely matches, and a false
 * match only costs the slower parse.
 */
const numberToken = /[:,[]\s*(-?\d[\d.eE+-]*)(?=\s*[,}\]])/g;

/** Whether the text may hold a number that JavaScript would print differently. */
export function mayLoseNumbers(text: string): boolean {
  numberToken.lastIndex = 0;
  for (let m = numberToken.exec(text); m !== null; m = numberToken.exec(text)) {
    const token = m[1]!;
    if (String(Number(token)) !== token) return true;
  }
  return false;
}

type Reviver = (this: object, key: string, value: unknown, context?: { source?: string }) => unknown;

const remember: Reviver = function (key, value, context) {
  if (typeof value === 'number') {
    const text = context?.source;
    if (text !== undefined && String(value) !== text) rememberNumber(this, key, text, value);
  } else if (value !== null && typeof value === 'object' && holdsRaw.has(value)) {
    holdsRaw.add(this);
  }
  return value;
};

function rememberNumber(holder: object, key: string, text: string, value: number): void {
  let map = rawNumbers.get(holder);
  if (!map) rawNumbers.set(holder, (map = new Map()));
  map.set(key, { text, value });
  holdsRaw.add(holder);
}

/** The reviver to hand to a JSON parser (e.g. secure-json-parse) when `mayLoseNumbers(text)`. */
export const losslessReviver = remember as (this: unknown, key: string, value: unknown) => unknown;

/** JSON.parse that remembers the text of every number JavaScript would print differently. */
export function parseJson(text: string): unknown {
  return mayLoseNumbers(text) ? JSON.parse(text, losslessReviver) : JSON.parse(text);
}

/** Bundles and Parameters built around stored resources do not carry their entries' marks, so they always take the careful path. */
function needsReplacer(value: unknown): boolean {
  if (value === null || typeof value !== 'object') return false;
  if (holdsRaw.has(value)) return true;
  const type = (value as { resourceType?: unknown }).resourceType;
  return type === 'Bundle' || type === 'Parameters';
}

function replacer(this: object, key: string, value: unknown): unknown {
  if (typeof value !== 'number') return value;
  const raw = rawNumbers.get(this)?.get(key);
  return raw !== undefined && Object.is(raw.value, value) ? rawJSON(raw.text) : value;
}

/** JSON.stringify that writes remembered numbers as they were written. */
export function stringifyJson(value: unknown): string {
  return needsReplacer(value) ? JSON.stringify(value, replacer) : JSON.stringify(value);
}

/**
 * The exact text of `holder[key]` when it is a number parsed from a text that
 * JavaScript would print differently; otherwise its usual text (search
 * indexes store the value as written: PostgreSQL `numeric` keeps it).
 */
export function numberText(holder: object, key: string): string | undefined {
  const value = (holder as Record<string, unknown>)[key];
  if (typeof value !== 'number') return undefined;
  const raw = rawNumbers.get(holder)?.get(key);
  return raw !== undefined && Object.is(raw.value, value) ? raw.text : String(value);
}

/**
 * Makes `to` write `from`'s remembered numbers: for a copy of an object
 * (`{ ...from }`) that keeps its properties, as `stamp` makes of a resource.
 */
export function carryNumbers(from: object, to: object): void {
  const map = rawNumbers.get(from);
  if (map) rawNumbers.set(to, map);
  if (holdsRaw.has(from)) holdsRaw.add(to);
}

/** Remembers, for `holder[key]`, the number text that `source[sourceKey]` was parsed from (a patch moving a value). */
export function moveNumber(source: object, sourceKey: string, holder: object, key: string): void {
  const raw = rawNumbers.get(source)?.get(sourceKey);
  if (raw !== undefined) rememberNumber(holder, key, raw.text, raw.value);
}

/** Marks `root` as holding remembered numbers below it (after a patch put them there). */
export function markHoldsNumbers(root: object): void {
  holdsRaw.add(root);
}

/** Whether `value` holds a remembered number somewhere below it. */
export function holdsNumbers(value: unknown): boolean {
  return value !== null && typeof value === 'object' && holdsRaw.has(value);
}
