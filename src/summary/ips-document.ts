/**
 * The patient summary as a FHIR document Bundle following the International
 * Patient Summary structure (https://hl7.org/fhir/uv/ips/): Composition first
 * (LOINC 60591-5), one section per kind of data with Spanish narrative, then
 * every resource the sections cite. References inside the document resolve
 * to its entries; a reference to anything outside it keeps only its display
 * (and identifier), so no reference dangles.
 */
import { randomUUID } from 'node:crypto';
import type { Bundle, BundleEntry, Composition, CompositionSection, Device, Observation, Reference, Resource } from '@medplum/fhirtypes';
import { groupOf } from './antecedentes.ts';
import { clinicalDate, counts, hasCategory, loinc, newest, textOf } from './clinical.ts';
import type { LoadedResource } from './load-record.ts';
import { rowOf, tableNarrative, textNarrative } from './narrative.ts';
import { fullName, type SummaryInput } from './resumen-medico.ts';
import { formatVitalSign, latestVitalSigns } from './vital-signs.ts';
import { latestContrarreferencias, openReferralRequests } from './referrals.ts';

interface SectionDefinition {
  code: string;
  display: string;
  title: string;
  /** IPS requires these three even when empty (with emptyReason). */
  required?: boolean;
  types: readonly string[];
  select(items: readonly LoadedResource[]): LoadedResource[];
}

const keyOf = (r: Resource) => `${r.resourceType}/${r.id}`;

function ofType(items: readonly LoadedResource[], ...types: string[]): LoadedResource[] {
  return items.filter((i) => types.includes(i.resource.resourceType) && counts(i.resource));
}

/** Observations that repeat over the years: the newest of each code. */
function newestPerCode(items: readonly LoadedResource[]): LoadedResource[] {
  const byCode = new Map<string, LoadedResource[]>();
  for (const i of items) {
    const code = (i.resource as Observation).code.coding?.[0]?.code ?? textOf((i.resource as Observation).code) ?? '';
    const list = byCode.get(code);
    if (list) list.push(i);
    else byCode.set(code, [i]);
  }
  return [...byCode.values()].map((list) => newest(list, (i) => clinicalDate(i.resource), (i) => i.lastUpdated)).filter((i): i is LoadedResource => i !== undefined);
}

const observationsWhere = (items: readonly LoadedResource[], test: (o: Observation) => boolean) => ofType(items, 'Observation').filter((i) => test(i.resource as Observation));

const sections: readonly SectionDefinition[] = [
  { code: '11450-4', display: 'Problem list - Reported', title: 'Problemas de salud', required: true, types: ['Condition'], select: (i) => ofType(i, 'Condition') },
  { code: '48765-2', display: 'Allergies and adverse reactions Document', title: 'Alergias e intolerancias', required: true, types: ['AllergyIntolerance'], select: (i) => ofType(i, 'AllergyIntolerance') },
  { code: '10160-0', display: 'History of Medication use Narrative', title: 'Medicamentos', required: true, types: ['MedicationRequest', 'MedicationStatement'], select: (i) => ofType(i, 'MedicationRequest', 'MedicationStatement') },
  { code: '8716-3', display: 'Vital signs', title: 'Signos vitales (última medición de cada uno)', types: ['Observation'], select: (i) => [...latestVitalSigns(i).values()].map((v) => v.stored) },
  {
    code: '30954-2',
    display: 'Relevant diagnostic tests/laboratory data Narrative',
    title: 'Resultados (último de cada estudio)',
    types: ['Observation'],
    select: (i) => newestPerCode(observationsWhere(i, (o) => hasCategory(o, 'laboratory'))),
  },
  { code: '47519-4', display: 'History of Procedures Document', title: 'Procedimientos', types: ['Procedure'], select: (i) => ofType(i, 'Procedure') },
  { code: '10157-6', display: 'History of family member diseases Narrative', title: 'Antecedentes heredo-familiares', types: ['FamilyMemberHistory'], select: (i) => ofType(i, 'FamilyMemberHistory') },
  { code: '29762-2', display: 'Social history Narrative', title: 'Antecedentes personales no patológicos (historia social)', types: ['Observation'], select: (i) => newestPerCode(observationsWhere(i, (o) => groupOf(o) === 'noPatologicos')) },
  { code: '10162-6', display: 'History of pregnancies Narrative', title: 'Antecedentes gineco-obstétricos', types: ['Observation'], select: (i) => newestPerCode(observationsWhere(i, (o) => groupOf(o) === 'ginecoObstetricos')) },
  // Referrals (issue 17): open ones as the IPS plan of care (ServiceRequest entries), and what the receiving units sent back.
  { code: '18776-5', display: 'Plan of care note', title: 'Referencias abiertas', types: ['ServiceRequest', 'Task'], select: openReferralRequests },
  { code: '11488-4', display: 'Consult note', title: 'Contrarreferencias (últimas)', types: ['Composition', 'Task'], select: latestContrarreferencias },
];

const author: Device = { resourceType: 'Device', id: 'ecu-fhir-resumen', deviceName: [{ name: 'ECU FHIR — resumen del paciente', type: 'user-friendly-name' }] };

/** Included resources: the section entries, then what they cite among the loaded ones, transitively. */
function closure(start: readonly Resource[], loaded: ReadonlyMap<string, Resource>): Map<string, Resource> {
  const included = new Map<string, Resource>(start.map((r) => [keyOf(r), r]));
  const queue = [...start];
  while (queue.length > 0) {
    const next = queue.pop() as Resource;
    forEachReference(next, (ref) => {
      const target = ref.reference ? loaded.get(ref.reference) : undefined;
      if (target && !included.has(ref.reference ?? '')) {
        included.set(ref.reference ?? '', target);
        queue.push(target);
      }
    });
  }
  return included;
}

function forEachReference(node: unknown, visit: (ref: Reference) => void): void {
  if (Array.isArray(node)) {
    for (const item of node) forEachReference(item, visit);
  } else if (node !== null && typeof node === 'object') {
    const record = node as Record<string, unknown>;
    if (typeof record.reference === 'string') visit(record as Reference);
    for (const value of Object.values(record)) if (typeof value === 'object') forEachReference(value, visit);
  }
}

/** A copy whose references to anything outside the document keep only display and identifier. */
function selfContained(resource: Resource, included: ReadonlyMap<string, Resource>): Resource {
  const copy = structuredClone(resource);
  forEachReference(copy, (ref) => {
    const target = ref.reference ?? '';
    if (target.startsWith('#') || included.has(target)) return;
    delete ref.reference;
    ref.display ??= `${target} (no incluido en el resumen)`;
  });
  return copy;
}

function section(def: SectionDefinition, entries: readonly LoadedResource[], input: SummaryInput, resolve: (ref: string) => Resource | undefined): CompositionSection | undefined {
  const code = { coding: [{ system: loinc, code: def.code, display: def.display }] };
  if (entries.length === 0) {
    if (!def.required) return undefined;
    const masked = def.types.some((t) => input.masked.has(t));
    return {
      title: def.title,
      code,
      text: textNarrative(masked ? 'Información retenida: el token no permite leer estos datos.' : 'No hay información registrada en el expediente.'),
      emptyReason: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/list-empty-reason', code: masked ? 'withheld' : 'unavailable' }] },
    };
  }
  const sorted = [...entries].sort((a, b) => (clinicalDate(b.resource) ?? '').localeCompare(clinicalDate(a.resource) ?? ''));
  return {
    title: def.title,
    code,
    text: tableNarrative(['Dato', 'Detalle', 'Estado', 'Fecha'], sorted.map((e) => rowOf(e.resource, resolve))),
    entry: sorted.map((e) => ({ reference: keyOf(e.resource) })),
  };
}

export interface DocumentOptions {
  baseUrl: string;
  now: Date;
}

export function buildIpsDocument(input: SummaryInput, options: DocumentOptions): Bundle {
  const { record } = input;
  const loaded = new Map<string, Resource>();
  for (const r of record.compartment) loaded.set(keyOf(r.resource), r.resource);
  for (const [key, r] of record.referenced) loaded.set(key, r.resource);
  const resolve = (ref: string) => loaded.get(ref);

  const built = sections.map((def) => {
    const entries = def.select(record.compartment);
    return { def, entries, section: section(def, entries, input, resolve) };
  });
  // Vital signs narrative reads better as the screen shows them ("121/81 mmHg").
  const vitals = built.find((b) => b.def.code === '8716-3');
  if (vitals?.section) {
    const latest = [...latestVitalSigns(record.compartment).values()];
    vitals.section.text = tableNarrative(['Signo vital', 'Valor', 'Fecha'], latest.map((v) => [v.definition.es, formatVitalSign(v), v.when]));
  }
  const cited = built.flatMap((b) => b.entries.map((e) => e.resource));
  const included = closure([record.patient, ...cited], loaded);
  included.set(keyOf(author), author);

  const documentId = randomUUID();
  const name = fullName(record.patient);
  const composition: Composition = {
    resourceType: 'Composition',
    id: documentId,
    status: 'final',
    type: { coding: [{ system: loinc, code: '60591-5', display: 'Patient summary Document' }] },
    subject: { reference: keyOf(record.patient), ...(name ? { display: name } : {}) },
    date: options.now.toISOString(),
    author: [{ reference: keyOf(author) }],
    title: `Resumen del paciente${name ? `: ${name}` : ''}`,
    text: textNarrative(`Resumen del paciente${name ? ` ${name}` : ''} generado por el ECU el ${options.now.toISOString()} con los datos registrados en el expediente.`),
    section: built.map((b) => b.section).filter((s): s is CompositionSection => s !== undefined),
  };
  const entry: BundleEntry[] = [
    { fullUrl: `${options.baseUrl}/Composition/${documentId}`, resource: composition },
    ...[...included.values()].map((r) => ({ fullUrl: `${options.baseUrl}/${keyOf(r)}`, resource: selfContained(r, included) })),
  ];
  return {
    resourceType: 'Bundle',
    id: randomUUID(),
    identifier: { system: 'urn:ietf:rfc:3986', value: `urn:uuid:${documentId}` },
    type: 'document',
    timestamp: options.now.toISOString(),
    entry,
  };
}
