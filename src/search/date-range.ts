/**
 * FHIR date, dateTime and instant values as the range of instants their
 * precision covers (https://hl7.org/fhir/R4/search.html#date): "2020" is the
 * whole year, "2020-03-04T10:00Z" the whole minute. Both ends inclusive, to
 * the millisecond. Values without a time zone are read as UTC.
 */
export interface DateRange {
  lo: Date;
  hi: Date;
}

const pattern = /^(\d{4})(?:-(\d{2})(?:-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|[+-]\d{2}:\d{2})?)?)?)?$/;

/** The range a date/dateTime/instant string covers, or undefined when it is not one. */
export function dateRange(value: string): DateRange | undefined {
  const m = pattern.exec(value);
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s, frac, zone] = m;
  const year = Number(y);
  const month = mo === undefined ? undefined : Number(mo);
  const day = d === undefined ? undefined : Number(d);
  if ((month !== undefined && (month < 1 || month > 12)) || (day !== undefined && (day < 1 || day > 31))) return undefined;
  if (h === undefined) {
    const lo = Date.UTC(year, (month ?? 1) - 1, day ?? 1);
    const next = day !== undefined ? Date.UTC(year, month! - 1, day + 1) : month !== undefined ? Date.UTC(year, month, 1) : Date.UTC(year + 1, 0, 1);
    if (day !== undefined && new Date(lo).getUTCDate() !== day) return undefined;
    return { lo: new Date(lo), hi: new Date(next - 1) };
  }
  if (Number(h) > 23 || Number(mi) > 59 || (s !== undefined && Number(s) > 59)) return undefined;
  const ms = frac === undefined ? 0 : Number(frac.slice(0, 3).padEnd(3, '0'));
  const iso = `${y}-${mo}-${d}T${h}:${mi}:${s ?? '00'}.${String(ms).padStart(3, '0')}${zone ?? 'Z'}`;
  const lo = new Date(iso);
  if (Number.isNaN(lo.getTime())) return undefined;
  const width = s === undefined ? 60_000 : frac === undefined || frac.length < 3 ? (frac === undefined ? 1000 : 10 ** (3 - frac.length)) : 1;
  return { lo, hi: new Date(lo.getTime() + width - 1) };
}
