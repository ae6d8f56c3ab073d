/**
 * Signing a receta: every draft MedicationRequest of the group (same
 * groupIdentifier, or the one prescription alone) is checked against the
 * controlled-substance rules, given the unit's next folio, signed with the
 * institution's key (detached JWS over the canonical payload, canonical.ts)
 * and made active; a Provenance carries the signature. All in one
 * transaction, the prescriptions locked first, so a receta is signed once.
 */
import { randomUUID } from 'node:crypto';
import type { Identifier, MedicationRequest, OperationOutcomeIssue, Patient, Provenance } from '@medplum/fhirtypes';
import { sql } from 'kysely';
import { forbidden } from '../auth/guard.ts';
import { conflict, FhirError, gone, issue, notFound, unprocessable } from '../fhir/errors.ts';
import { persist } from '../fhir/persist.ts';
import type { FhirContext } from '../fhir/types.ts';
import { stamp } from '../fhir/versioning.ts';
import { curpSystem } from '../mx/systems.ts';
import { readCurrent, type Db, type StoredVersion } from '../store/resource-store.ts';
import { canonicalPayload } from './canonical.ts';
import { groupOfRequest } from './catalog.ts';
import type { RecetaContext } from './context.ts';
import { checkReceta } from './controlled.ts';
import { issueFolio, lockCurrent } from './receta-store.ts';
import { parseContent } from './request-hook.ts';
import { signDetached } from './signing-keys.ts';
import { authorSignatureType, folioSystem, specialFolioSystem } from './systems.ts';
import { recetaDb } from './tables.ts';

export interface SignedReceta {
  folio: Identifier;
  provenance: StoredVersion;
  requests: StoredVersion[];
}

interface Locked {
  current: StoredVersion;
  request: MedicationRequest;
}

/**
 * Locks every prescription of the group in id order (two signers starting
 * from different members of one receta cannot deadlock), then checks the
 * group did not change between looking it up and locking it.
 */
async function lockGroup(tx: Db, first: Locked): Promise<Locked[]> {
  const group = first.request.groupIdentifier;
  if (!group?.value) {
    const current = await lockCurrent(tx, 'MedicationRequest', first.current.id);
    const request = parseContent<MedicationRequest>(current?.content);
    if (!current || !request || current.versionId !== first.current.versionId) throw changedMeanwhile(first.current.id);
    return [{ current, request }];
  }
  const rows = await tx
    .selectFrom('resource')
    .select('id')
    .where('resource_type', '=', 'MedicationRequest')
    .where('deleted', '=', false)
    .where(sql<boolean>`patients @> ${sql.val(first.current.patients)}::text[]`)
    .where(sql<boolean>`(content::jsonb #>> '{groupIdentifier,system}') IS NOT DISTINCT FROM ${group.system ?? null}`)
    .where(sql<boolean>`(content::jsonb #>> '{groupIdentifier,value}') = ${group.value}`)
    .orderBy('id')
    .execute();
  const out: Locked[] = [];
  for (const { id } of rows) {
    const current = await lockCurrent(tx, 'MedicationRequest', id);
    const request = parseContent<MedicationRequest>(current?.content);
    if (!current || !request || current.deleted || request.groupIdentifier?.system !== group.system || request.groupIdentifier?.value !== group.value) throw changedMeanwhile(id);
    if (id === first.current.id && current.versionId !== first.current.versionId) throw changedMeanwhile(id);
    out.push({ current, request });
  }
  // Signed by a parallel $sign after it was read: its groupIdentifier is now the folio, so the old group matches nothing.
  if (!out.some((l) => l.current.id === first.current.id)) throw changedMeanwhile(first.current.id);
  return out;
}

function changedMeanwhile(id: string) {
  return conflict({ es: `MedicationRequest/${id} cambió mientras se firmaba; reintente`, en: `MedicationRequest/${id} changed while being signed; retry` });
}

function requireSignable(lines: Locked[], ctx: FhirContext, recetaCtx: RecetaContext): { requester: string; clues: string } {
  const [first] = lines;
  const requester = first?.request.requester?.reference ?? '';
  const subject = first?.request.subject?.reference;
  const issues: OperationOutcomeIssue[] = [];
  for (const { request } of lines) {
    const who = `MedicationRequest/${request.id ?? ''}`;
    if (request.status !== 'draft') {
      throw conflict({ es: `${who} está ${request.status}: solo se firma un borrador (draft), una vez`, en: `${who} is ${request.status}: only a draft is signed, once` }, 'MedicationRequest.status');
    }
    if (!recetaCtx.isReceta(request)) {
      issues.push(issue('business-rule', { es: `${who} no es una receta MX: declare el perfil mx-medication-request`, en: `${who} is not an MX receta: declare the mx-medication-request profile` }, 'MedicationRequest.meta.profile'));
    }
    if (request.requester?.reference !== requester || request.subject?.reference !== subject) {
      issues.push(issue('business-rule', { es: `${who}: una receta tiene un solo paciente y un solo médico`, en: `${who}: a receta has one patient and one prescriber` }, 'MedicationRequest.groupIdentifier'));
    }
  }
  if (issues.length) {
    throw new FhirError(422, issues);
  }
  const actor = ctx.actor;
  if (actor) {
    const own = actor.fhirUser !== undefined && (actor.fhirUser === requester || actor.fhirUser.endsWith(`/${requester}`));
    if (actor.role !== 'clinician' || !own) {
      throw forbidden({
        es: `Firma la receta el médico que la prescribe (${requester}): se requiere un token con rol clinician y fhirUser ${requester}`,
        en: `The receta is signed by its prescriber (${requester}): a token with role clinician and fhirUser ${requester} is required`,
      });
    }
    if (!actor.clues) {
      throw unprocessable({ es: 'El token debe indicar la unidad (claim clues) que emite el folio', en: 'The token must name the unit (clues claim) that issues the folio' }, 'clues', 'business-rule');
    }
  }
  return { requester, clues: actor?.clues ?? 'DESCONOCIDA' };
}

async function curpOf(tx: Db, reference: string | undefined): Promise<{ id?: string; curp?: string }> {
  const id = reference?.startsWith('Patient/') ? reference.slice('Patient/'.length) : undefined;
  const patient = id ? parseContent<Patient>((await readCurrent(tx, 'Patient', id))?.content) : undefined;
  return { id, curp: patient?.identifier?.find((i) => i.system === curpSystem)?.value };
}

export async function signReceta(ctx: FhirContext, recetaCtx: RecetaContext, id: string): Promise<SignedReceta> {
  const run = async (tx: Db): Promise<SignedReceta> => {
    const txCtx: FhirContext = { ...ctx, db: tx };
    const current = await readCurrent(tx, 'MedicationRequest', id);
    if (!current) throw notFound({ es: `No existe MedicationRequest/${id}`, en: `MedicationRequest/${id} not found` });
    if (current.deleted || !current.content) throw gone({ es: `MedicationRequest/${id} fue eliminada`, en: `MedicationRequest/${id} was deleted` });
    const lines = await lockGroup(tx, { current, request: JSON.parse(current.content) as MedicationRequest });
    const { requester, clues } = requireSignable(lines, ctx, recetaCtx);
    const now = ctx.now();
    const groups = await Promise.all(lines.map((l) => groupOfRequest(tx, l.request)));
    const { issues, limits } = checkReceta(lines.map((l, i) => ({ request: l.request, group: groups[i] })), now);
    if (issues.length) throw new FhirError(422, issues);

    const rdb = recetaDb(tx);
    for (const [i, { request }] of lines.entries()) {
      const special = groups[i] === 'I' ? request.identifier?.find((x) => x.system === specialFolioSystem)?.value : undefined;
      if (special) {
        const taken = await rdb.insertInto('receta_special_folio').values({ value: special, medication_request_id: request.id ?? '' }).onConflict((oc) => oc.doNothing()).executeTakeFirst();
        if (Number(taken.numInsertedOrUpdatedRows ?? 0) !== 1) {
          throw conflict({ es: `El folio de recetario especial ${special} ya se usó en otra receta`, en: `Special prescription form folio ${special} was used on another receta already` }, 'MedicationRequest.identifier');
        }
      }
    }
    const folio: Identifier = { system: folioSystem(clues), value: await issueFolio(tx, clues) };
    const signed = lines.map(({ current: version, request }, i) => {
      const identifier = [...(request.identifier ?? [])];
      // The client's own grouping id is kept as an identifier of each prescription.
      if (request.groupIdentifier && !identifier.some((x) => x.system === request.groupIdentifier?.system && x.value === request.groupIdentifier?.value)) identifier.push(request.groupIdentifier);
      const filled = limits[i]?.filledValidity;
      const next: MedicationRequest = {
        ...request,
        status: 'active',
        ...(identifier.length ? { identifier } : {}),
        groupIdentifier: folio,
        ...(filled ? { dispenseRequest: { ...request.dispenseRequest, validityPeriod: filled } } : {}),
      };
      return stamp(next, version.id, version.versionId + 1, now);
    });
    const payload = canonicalPayload(signed.map((s) => JSON.parse(s.content ?? '{}') as MedicationRequest));
    const { jws, kid } = await signDetached(recetaCtx.keys, payload);
    const provenance: Provenance = {
      resourceType: 'Provenance',
      target: signed.map((s) => ({ reference: `MedicationRequest/${s.id}/_history/${s.versionId}` })),
      recorded: now.toISOString(),
      activity: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-DocumentCompletion', code: 'LA', display: 'legally authenticated' }] },
      agent: [{ type: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/provenance-participant-type', code: 'author' }] }, who: { reference: requester } }],
      signature: [{ type: [authorSignatureType], when: now.toISOString(), who: { reference: requester }, targetFormat: 'application/json', sigFormat: 'application/jose', data: Buffer.from(jws).toString('base64') }],
    };
    const provenanceStored = { ...stamp(provenance, randomUUID(), 1, now), patients: current.patients };
    const patient = await curpOf(tx, lines[0]?.request.subject?.reference);
    await rdb
      .insertInto('receta')
      .values({ folio_system: folio.system ?? '', folio: folio.value ?? '', clues, patient_id: patient.id ?? null, patient_curp: patient.curp ?? null, requester, provenance_id: provenanceStored.id, kid, signed_at: now })
      .execute();
    await rdb
      .insertInto('receta_item')
      .values(
        signed.map((s, i) => ({
          medication_request_id: s.id,
          folio_system: folio.system ?? '',
          folio: folio.value ?? '',
          signed_version: s.versionId,
          controlled_group: groups[i] ?? null,
          quantity_unit: limits[i]?.unit ?? null,
          max_total: limits[i]?.maxTotal ?? 0,
          max_dispenses: limits[i]?.maxDispenses ?? null,
          valid_from: limits[i]?.validFrom ?? null,
          valid_until: limits[i]?.validUntil ?? null,
        })),
      )
      .execute();
    await persist(txCtx, provenanceStored, undefined);
    for (const [i, s] of signed.entries()) {
      if (!(await persist(txCtx, s, lines[i]?.current))) {
        throw conflict({ es: `MedicationRequest/${s.id} cambió mientras se firmaba; reintente`, en: `MedicationRequest/${s.id} changed while being signed; retry` });
      }
    }
    return { folio, provenance: provenanceStored, requests: signed };
  };
  return ctx.db.isTransaction ? run(ctx.db) : ctx.db.transaction().execute(run);
}
