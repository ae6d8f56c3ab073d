/**
 * Age in completed years on a given day (the request's `date`, default
 * today), from a FHIR `birthDate` (YYYY, YYYY-MM or YYYY-MM-DD). A partial
 * birth date gives an age only when the answer does not depend on the
 * missing part; otherwise undefined (never guessed).
 */
export function ageOn(birthDate: string, on: string): number | undefined {
  const b = /^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?$/.exec(birthDate);
  const d = /^(\d{4})-(\d{2})-(\d{2})$/.exec(on);
  if (!b || !d) return undefined;
  const [by, bm, bd] = [Number(b[1]), b[2] ? Number(b[2]) : undefined, b[3] ? Number(b[3]) : undefined];
  const [dy, dm, dd] = [Number(d[1]), Number(d[2]), Number(d[3])];
  const oldest = dy - by; // if the birthday this year has passed
  const youngest = oldest - 1;
  const passed = (m: number, day: number) => dm > m || (dm === m && dd >= day);
  if (bm === undefined) return passed(1, 1) && !passed(12, 31) ? undefined : passed(12, 31) ? oldest : youngest;
  if (bd === undefined) return dm > bm ? oldest : dm < bm ? youngest : undefined;
  const age = passed(bm, bd) ? oldest : youngest;
  return age < 0 ? undefined : age;
}

/** Today's date (YYYY-MM-DD) in Mexico City, where the ECU's clinics read it. */
export function todayInMexico(now: Date): string {
  return new Intl.DateTimeFormat('en-CA', { timeZone: 'America/Mexico_City', year: 'numeric', month: '2-digit', day: '2-digit' }).format(now);
}
