/**
 * Patient/$match (https://hl7.org/fhir/R4/patient-operation-match.html): the
 * body is Parameters with `resource` (a Patient), `onlyCertainMatches` and
 * `count`; the answer a searchset Bundle ordered by score, each entry with
 * `search.score` and the match-grade extension.
 *
 * - certain: same CURP (identifier system urn:oid:2.16.840.1.113883.4.629);
 * - certainly-not: both have a CURP and they differ (never returned);
 * - otherwise a weighted score on family names, given names, birth date and
 *   sex, accent- and case-insensitive: ≥ 0.85 probable, ≥ 0.6 possible,
 *   lower scores are not returned.
 *
 * Candidates come from the search index (sp_token for the CURP, sp_date for
 * the birth date, sp_string for family + given names), one query, at most a
 * few hundred rows; scoring is done here on the stored JSON.
 */
import type { Bundle, BundleEntry, HumanName, OperationDefinition, Parameters, Patient } from '@medplum/fhirtypes';
import { sql } from 'kysely';
import { rowAccessFor } from '../../auth/readable.ts';
import { curpSystem } from '../../mx/systems.ts';
import { rowCondition } from '../../search/row-access.ts';
import { escapeLike, normalizeText } from '../../search/normalize.ts';
import { badRequest } from '../errors.ts';
import type { FhirContext, FhirRequest, FhirResult } from '../types.ts';
import { parseJson } from '../../json/lossless.ts';

export const matchOperationDefinition: OperationDefinition = {
  resourceType: 'OperationDefinition',
  id: 'Patient-match',
  url: 'http://hl7.org/fhir/OperationDefinition/Patient-match',
  name: 'match',
  status: 'active',
  kind: 'operation',
  code: 'match',
  resource: ['Patient'],
  system: false,
  type: true,
  instance: false,
};

export const matchGradeUrl = 'http://hl7.org/fhir/StructureDefinition/match-grade';
export type MatchGrade = 'certain' | 'probable' | 'possible' | 'certainly-not';

const weights = { family: 0.3, given: 0.25, birthDate: 0.3, gender: 0.15 };
const probableFrom = 0.85;
const possibleFrom = 0.6;
const candidateLimit = 300;
const defaultCount = 10;
const maxCount = 100;

interface MatchInput {
  patient: Patient;
  onlyCertain: boolean;
  count: number;
}

function parseInput(body: unknown): MatchInput {
  const resource = body as Parameters | Patient | undefined;
  if (resource?.resourceType === 'Patient') return { patient: resource, onlyCertain: false, count: defaultCount };
  if (resource?.resourceType !== 'Parameters') {
    throw badRequest({ es: 'Se espera Parameters con "resource" (un Patient)', en: 'Parameters with "resource" (a Patient) expected' }, 'Parameters');
  }
  const param = (name: string) => resource.parameter?.find((p) => p.name === name);
  const patient = param('resource')?.resource;
  if (patient?.resourceType !== 'Patient') {
    throw badRequest({ es: 'El parámetro "resource" debe ser un Patient', en: 'Parameter "resource" must be a Patient' }, 'Parameters.parameter.resource');
  }
  const count = param('count')?.valueInteger;
  if (count !== undefined && (!Number.isInteger(count) || count < 1)) {
    throw badRequest({ es: '"count" debe ser un entero positivo', en: '"count" must be a positive integer' }, 'Parameters.parameter.count');
  }
  return { patient, onlyCertain: param('onlyCertainMatches')?.valueBoolean === true, count: Math.min(count ?? defaultCount, maxCount) };
}

function curps(patient: Patient): string[] {
  return (patient.identifier ?? []).filter((i) => i.system === curpSystem && i.value).map((i) => (i.value ?? '').trim().toUpperCase());
}

function words(names: HumanName[] | undefined, part: 'family' | 'given'): Set<string> {
  const out = new Set<string>();
  for (const name of names ?? []) {
    const values = part === 'family' ? [name.family ?? ''] : (name.given ?? []);
    for (const v of values) for (const w of normalizeText(v).split(/[\s-]+/)) if (w) out.add(w);
  }
  return out;
}

/** Dice coefficient of two word sets: 1 when equal, partial credit for "Hernández" against "Hernández López". */
function dice(a: Set<string>, b: Set<string>): number {
  if (a.size === 0 || b.size === 0) return 0;
  let shared = 0;
  for (const w of a) if (b.has(w)) shared++;
  return (2 * shared) / (a.size + b.size);
}

function birthDateScore(a: string | undefined, b: string | undefined): number {
  if (!a || !b) return 0;
  if (a === b) return 1;
  const [pa, pb] = [a.split('-'), b.split('-')];
  // One part off (a typo in day, month or year) still counts for half.
  return pa.length === 3 && pb.length === 3 && pa.filter((x, i) => x === pb[i]).length === 2 ? 0.5 : 0;
}

/** Grade and score of `candidate` as a match for `input` (pure). */
export function scoreMatch(input: Patient, candidate: Patient): { grade: MatchGrade; score: number } {
  const [mine, theirs] = [curps(input), curps(candidate)];
  if (mine.some((c) => theirs.includes(c))) return { grade: 'certain', score: 1 };
  if (mine.length > 0 && theirs.length > 0) return { grade: 'certainly-not', score: 0 };
  const gender = input.gender && candidate.gender ? (input.gender === candidate.gender ? 1 : 0) : 0.5;
  const raw =
    weights.family * dice(words(input.name, 'family'), words(candidate.name, 'family')) +
    weights.given * dice(words(input.name, 'given'), words(candidate.name, 'given')) +
    weights.birthDate * birthDateScore(input.birthDate, candidate.birthDate) +
    weights.gender * gender;
  // Demographics alone are never certain: only a shared CURP scores 1.
  const score = Math.min(0.99, Math.round(raw * 100) / 100);
  return { grade: score >= probableFrom ? 'probable' : score >= possibleFrom ? 'possible' : 'certainly-not', score };
}

/** Patients sharing the CURP, the birth date, or a family and a given name with the input. */
async function candidates(ctx: FhirContext, patient: Patient): Promise<Patient[]> {
  const ids = curps(patient);
  const family = [...words(patient.name, 'family')];
  const given = [...words(patient.name, 'given')];
  const branches = [];
  if (ids.length > 0) {
    branches.push(sql`(SELECT id FROM sp_token WHERE resource_type = 'Patient' AND param = 'identifier' AND system = ${curpSystem} AND code = ANY(${ids}::text[]))`);
  }
  if (patient.birthDate && /^\d{4}-\d{2}-\d{2}$/.test(patient.birthDate)) {
    const start = new Date(`${patient.birthDate}T00:00:00Z`);
    const end = new Date(start.getTime() + 86_400_000);
    branches.push(sql`(SELECT id FROM sp_date WHERE resource_type = 'Patient' AND param = 'birthdate' AND lo >= ${start} AND lo < ${end} LIMIT ${candidateLimit})`);
  }
  if (family.length > 0 && given.length > 0) {
    // Prefix match on each word: "hernandez" finds the stored "hernandez lopez".
    const like = (alias: string, list: string[]) => sql.join(list.map((w) => sql`${sql.ref(`${alias}.value`)} LIKE ${`${escapeLike(w)}%`}`), sql` OR `);
    branches.push(sql`(SELECT f.id FROM sp_string f WHERE f.resource_type = 'Patient' AND f.param = 'family' AND (${like('f', family)})
      AND EXISTS (SELECT 1 FROM sp_string g WHERE g.resource_type = 'Patient' AND g.id = f.id AND g.param = 'given' AND (${like('g', given)}))
      LIMIT ${candidateLimit})`);
  }
  if (branches.length === 0) return [];
  // Only Patients the caller may read are candidates: the answer (and its total) says nothing of the others.
  const readable = rowCondition(rowAccessFor(ctx.actor), sql`r.resource_type`, sql`r.patients`, 'Patient') ?? sql`true`;
  const { rows } = await sql<{ content: string }>`SELECT r.content FROM resource r
    WHERE r.resource_type = 'Patient' AND NOT r.deleted AND ${readable} AND r.id IN (${sql.join(branches, sql` UNION `)})`.execute(ctx.db);
  return rows.map((r) => parseJson(r.content) as Patient);
}

export async function match(req: FhirRequest, ctx: FhirContext): Promise<FhirResult> {
  const input = parseInput(req.body);
  const graded = (await candidates(ctx, input.patient))
    .map((patient) => ({ patient, ...scoreMatch(input.patient, patient) }))
    .filter((m) => m.grade !== 'certainly-not' && (!input.onlyCertain || m.grade === 'certain'))
    .sort((a, b) => b.score - a.score || (a.patient.id ?? '').localeCompare(b.patient.id ?? ''))
    .slice(0, input.count);
  const entry: BundleEntry[] = graded.map((m) => ({
    fullUrl: `${ctx.baseUrl}/Patient/${m.patient.id ?? ''}`,
    resource: m.patient,
    search: { mode: 'match', score: m.score, extension: [{ url: matchGradeUrl, valueCode: m.grade }] },
  }));
  const bundle: Bundle = { resourceType: 'Bundle', type: 'searchset', total: entry.length, entry };
  return { status: 200, body: bundle };
}
