/**
 * Small readings of clinical resources shared by both summaries: whether a
 * record counts (statuses), its clinical date, its codes and a display text.
 */
import type { CodeableConcept, Coding, Observation, Resource } from '@medplum/fhirtypes';

/**
 * Observation statuses a summary shows. The ECU rule (issue 8) leaves out
 * `amended` results as well as `entered-in-error`: an amended result is under
 * revision in the source record, so the summary falls back to the newest
 * final one. `corrected` is the code R4 gives a value fixed after it was
 * final, and it is shown. `registered`, `cancelled` and `unknown` carry no
 * valid result. https://hl7.org/fhir/R4/valueset-observation-status.html
 */
const validObservation: ReadonlySet<string> = new Set(['final', 'corrected', 'preliminary']);

/** Whether a record is one to show: not entered in error, refuted, cancelled or not done. */
export function counts(resource: Resource): boolean {
  const r = resource as unknown as Record<string, unknown>;
  const status = typeof r.status === 'string' ? r.status : undefined;
  if (resource.resourceType === 'Observation') {
    return status !== undefined && validObservation.has(status);
  }
  if (status === 'entered-in-error' || status === 'cancelled' || status === 'not-done') {
    return false;
  }
  const verification = (r.verificationStatus as CodeableConcept | undefined)?.coding?.[0]?.code;
  return verification !== 'entered-in-error' && verification !== 'refuted';
}

/** The clinically meaningful date of a record (when it happened or was recorded), as FHIR dateTime text. */
export function clinicalDate(resource: Resource): string | undefined {
  const r = resource as unknown as Record<string, unknown>;
  const period = (key: string) => {
    const p = r[key] as { start?: string; end?: string } | undefined;
    return p?.end ?? p?.start;
  };
  const candidates = [
    r.effectiveDateTime,
    r.effectiveInstant,
    period('effectivePeriod'),
    r.performedDateTime,
    period('performedPeriod'),
    r.onsetDateTime,
    period('onsetPeriod'),
    r.recordedDate,
    r.authoredOn,
    period('period'),
    r.date,
    r.issued,
  ];
  return candidates.find((c): c is string => typeof c === 'string');
}

/** Milliseconds of a FHIR date/dateTime for ordering (a bare date counts as its start, UTC). */
export function instantOf(date: string | undefined): number {
  if (!date) return Number.NEGATIVE_INFINITY;
  const t = Date.parse(date.length === 4 ? `${date}-01-01` : date.length === 7 ? `${date}-01` : date);
  return Number.isNaN(t) ? Number.NEGATIVE_INFINITY : t;
}

export function codingsOf(concept: CodeableConcept | undefined): Coding[] {
  return concept?.coding ?? [];
}

export function hasCode(concept: CodeableConcept | undefined, system: string, codes: ReadonlySet<string>): boolean {
  return codingsOf(concept).some((c) => c.system === system && c.code !== undefined && codes.has(c.code));
}

/** Text to show for a concept: its text, else the first coding's display, else code. */
export function textOf(concept: CodeableConcept | undefined): string | undefined {
  return concept?.text ?? concept?.coding?.find((c) => c.display)?.display ?? concept?.coding?.find((c) => c.code)?.code;
}

export function hasCategory(obs: Observation, code: string): boolean {
  return (obs.category ?? []).some((c) => codingsOf(c).some((x) => x.code === code));
}

export const loinc = 'http://loinc.org';

/** The newest item by clinical date, then by when it was stored. */
export function newest<T>(items: readonly T[], date: (t: T) => string | undefined, stored: (t: T) => Date): T | undefined {
  let best: T | undefined;
  for (const item of items) {
    if (best === undefined) {
      best = item;
      continue;
    }
    const a = instantOf(date(item));
    const b = instantOf(date(best));
    if (a > b || (a === b && stored(item).getTime() > stored(best).getTime())) best = item;
  }
  return best;
}
