/**
 * The demo data set (examples/demo/*.json, loaded in file order) written
 * through the FHIR API, so everything in it passes the same validation,
 * stamping and audit as any client's write. Idempotent: a resource already
 * there (same type and id) is left alone, so a second run writes nothing; the
 * draft recetas are then signed by their prescriber (`$sign`), once. A
 * record stamped with the unit that wrote it is written as that unit.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Bundle, MedicationRequest, Organization, Patient, Resource } from '@medplum/fhirtypes';
import { cluesSystem } from '../mx/index.ts';

export const demoDir = path.resolve(import.meta.dirname, '../../examples/demo');

export interface DemoResponse {
  status: number;
  body: string;
}
/** One HTTP request to the server (in-process inject, or fetch). */
export type DemoSend = (method: 'GET' | 'PUT' | 'POST', url: string, token: string, body?: unknown) => Promise<DemoResponse>;
/** A token with these claims: role admin for the load, clinician prescriber for signing. */
export type DemoToken = (claims: { role: 'admin' | 'clinician'; sub: string; clues?: string; fhirUser?: string }) => Promise<string>;

/** The unit a record says wrote it (`meta.extension` mx-unidad-autora): the seed writes it as that unit. */
function authoringUnit(resource: Resource): string | undefined {
  const stamp = resource.meta?.extension?.find((e) => e.url === 'https://ecu-fhir.org/fhir/StructureDefinition/mx-unidad-autora');
  return stamp?.valueIdentifier?.value;
}

export interface DemoReport {
  written: number;
  present: number;
  signed: number;
  byType: Record<string, number>;
}

export function demoResources(dir = demoDir): Resource[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .flatMap((f) => ((JSON.parse(readFileSync(path.join(dir, f), 'utf8')) as Bundle).entry ?? []).map((e) => e.resource as Resource));
}

function refuse(what: string, res: DemoResponse): never {
  let detail = res.body;
  try {
    const outcome = JSON.parse(res.body) as { issue?: { diagnostics?: string; details?: { text?: string }; expression?: string[] }[] };
    detail = (outcome.issue ?? []).map((i) => `${i.expression?.join(',') ?? ''} ${i.details?.text ?? i.diagnostics ?? ''}`.trim()).join('; ');
  } catch {
    // not JSON: keep the body
  }
  throw new Error(`${what} answered ${res.status}: ${detail}`);
}

export async function loadDemo(send: DemoSend, tokenFor: DemoToken, dir = demoDir): Promise<DemoReport> {
  const admin = await tokenFor({ role: 'admin', sub: 'seed-demo' });
  // An admin token is a relay (records keep the unit they arrive with); with the unit's CLUES it also acts for that
  // unit where a rule asks who writes (a referral is sent by the referring unit).
  const asUnit = new Map<string, string>();
  const writer = async (resource: Resource): Promise<string> => {
    const clues = authoringUnit(resource);
    if (!clues) return admin;
    if (!asUnit.has(clues)) asUnit.set(clues, await tokenFor({ role: 'admin', sub: 'seed-demo', clues }));
    return asUnit.get(clues)!;
  };
  const report: DemoReport = { written: 0, present: 0, signed: 0, byType: {} };
  const resources = demoResources(dir);
  for (const resource of resources) {
    const url = `/${resource.resourceType}/${resource.id}`;
    report.byType[resource.resourceType] = (report.byType[resource.resourceType] ?? 0) + 1;
    const found = await send('GET', url, admin);
    if (found.status === 200) {
      report.present++;
      continue;
    }
    const put = await send('PUT', url, await writer(resource), resource);
    if (put.status !== 201 && put.status !== 200) refuse(`PUT ${url}`, put);
    report.written++;
  }
  for (const draft of resources.filter((r): r is MedicationRequest => r.resourceType === 'MedicationRequest')) {
    const current = JSON.parse((await send('GET', `/MedicationRequest/${draft.id}`, admin)).body) as MedicationRequest;
    if (current.status !== 'draft') continue;
    // The prescriber signs, with the CLUES of the patient's unit (its institution issues the folio).
    const patient = JSON.parse((await send('GET', `/${draft.subject?.reference}`, admin)).body) as Patient;
    const unit = JSON.parse((await send('GET', `/${patient.managingOrganization?.reference}`, admin)).body) as Organization;
    const clues = unit.identifier?.find((i) => i.system === cluesSystem)?.value;
    const doctor = await tokenFor({ role: 'clinician', sub: 'seed-prescriber', clues, fhirUser: draft.requester?.reference });
    const signed = await send('POST', `/MedicationRequest/${draft.id}/$sign`, doctor);
    if (signed.status !== 200) refuse(`$sign MedicationRequest/${draft.id}`, signed);
    report.signed++;
  }
  return report;
}
