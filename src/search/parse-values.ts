/**
 * Search values by parameter type (https://hl7.org/fhir/R4/search.html#ptypes):
 * escaping (`\,` `\|` `\$` `\\`), prefixes, token system|code, quantity
 * number|system|code, references. A malformed value is always a 400 naming the parameter.
 */
import { badRequest } from '../fhir/errors.ts';
import { dateRange } from './date-range.ts';
import type { ParamType } from './search-parameters.ts';
import type { DateValue, NumberValue, Prefix, QuantityValue, ReferenceValue, ScalarValue, TokenValue } from './search-request.ts';

const prefixes: readonly Prefix[] = ['eq', 'ne', 'gt', 'lt', 'ge', 'le', 'sa', 'eb', 'ap'];

/** Splits on `sep` where it is not escaped by a backslash; the parts stay escaped. */
export function splitEscaped(value: string, sep: string): string[] {
  const out: string[] = [];
  let current = '';
  for (let i = 0; i < value.length; i++) {
    const c = value[i]!;
    if (c === '\\' && i + 1 < value.length) {
      current += c + value[i + 1];
      i++;
    } else if (c === sep) {
      out.push(current);
      current = '';
    } else {
      current += c;
    }
  }
  out.push(current);
  return out;
}

export function unescape(value: string): string {
  return value.replace(/\\([\\,|$])/g, '$1');
}

export function parseValue(type: Exclude<ParamType, 'composite'>, raw: string, name: string): ScalarValue {
  switch (type) {
    case 'string':
      return { text: unescape(raw) };
    case 'uri':
      return { value: unescape(raw) };
    case 'token':
      return parseToken(raw);
    case 'date':
      return parseDate(raw, name);
    case 'number':
      return parseNumber(raw, name);
    case 'quantity':
      return parseQuantity(raw, name);
    case 'reference':
      return parseReference(unescape(raw));
  }
}

export function parseToken(raw: string): TokenValue {
  const parts = splitEscaped(raw, '|');
  if (parts.length === 1) return { code: unescape(raw) };
  const [system, ...rest] = parts;
  const code = unescape(rest.join('|'));
  return { system: system === '' ? null : unescape(system!), code: code === '' ? undefined : code };
}

function splitPrefix(raw: string): { prefix: Prefix; rest: string } {
  const p = raw.slice(0, 2) as Prefix;
  return prefixes.includes(p) && /^[a-z]{2}[-+\d.]/.test(raw) ? { prefix: p, rest: raw.slice(2) } : { prefix: 'eq', rest: raw };
}

function invalid(name: string, raw: string, what: { es: string; en: string }) {
  return badRequest({ es: `Valor inválido para ${name}: "${raw}" (se espera ${what.es})`, en: `Invalid value for ${name}: "${raw}" (expected ${what.en})` }, name);
}

export function parseDate(raw: string, name: string): DateValue {
  const { prefix, rest } = splitPrefix(raw);
  const range = dateRange(rest);
  if (!range) throw invalid(name, raw, { es: '[prefijo]AAAA[-MM[-DD[Thh:mm[:ss][zona]]]], prefijos eq ne gt lt ge le sa eb ap', en: '[prefix]YYYY[-MM[-DD[Thh:mm[:ss][zone]]]], prefixes eq ne gt lt ge le sa eb ap' });
  return { prefix, range };
}

const decimal = /^[-+]?(\d+)(?:\.(\d+))?(?:[eE]([-+]?\d+))?$/;

export function parseNumber(raw: string, name: string): NumberValue {
  const { prefix, rest } = splitPrefix(raw);
  const m = decimal.exec(rest);
  if (!m) throw invalid(name, raw, { es: '[prefijo]número, p. ej. gt5.4', en: '[prefix]number, e.g. gt5.4' });
  // Implicit precision: "100" means [99.5, 100.5), "5.40" means [5.395, 5.405).
  const exponent = Number(m[3] ?? 0) - (m[2]?.length ?? 0);
  // The value as written: PostgreSQL numeric reads exponents exactly (1e-400 is not 0).
  return { prefix, value: rest.startsWith('+') ? rest.slice(1) : rest, half: halfUnit(exponent) };
}

function halfUnit(exponent: number): string {
  // 0.5 × 10^exponent, as an exact decimal string.
  if (exponent > 0) return `5${'0'.repeat(exponent - 1)}`;
  if (exponent === 0) return '0.5';
  return `0.${'0'.repeat(-exponent)}5`;
}

export function parseQuantity(raw: string, name: string): QuantityValue {
  const [num, system, ...code] = splitEscaped(raw, '|');
  const n = parseNumber(num ?? '', name);
  const out: QuantityValue = { ...n };
  if (system !== undefined && system !== '') out.system = unescape(system);
  if (code.length > 0 && code.join('|') !== '') out.code = unescape(code.join('|'));
  return out;
}

const typed = /^([A-Z][A-Za-z]+)\/([A-Za-z0-9\-.]{1,64})(?:\/_history\/[^/]+)?$/;

export function parseReference(value: string): ReferenceValue {
  const local = typed.exec(value);
  if (local) return { type: local[1], id: local[2] };
  if (/^[A-Za-z0-9\-.]{1,64}$/.test(value)) return { id: value };
  return { url: value };
}
