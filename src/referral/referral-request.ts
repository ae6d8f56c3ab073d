/**
 * The mx-referencia rules of a referral ServiceRequest (nota de referencia,
 * NOM-004-SSA3-2012 6.4), checked without the database: what the element
 * must say. The network (network.ts) then checks what it names exists and
 * may be asked for.
 */
import type { Coding, OperationOutcomeIssue, ServiceRequest } from '@medplum/fhirtypes';
import { issue } from '../fhir/errors.ts';
import { cie10System, icd10System } from '../mx/systems.ts';
import { actCodeSystem, folioSystemPrefix, hasCoding, inPersonClass, modalityExtension, referralCategory, referralProfile, snomed, virtualClass } from './systems.ts';

/** A ServiceRequest is a referral when its category says so (SNOMED CT 3457005) or it claims the profile. */
export function isReferral(sr: ServiceRequest | undefined): sr is ServiceRequest {
  return sr !== undefined && (hasCoding(sr.category, snomed, referralCategory) || (sr.meta?.profile ?? []).includes(referralProfile));
}

export const modalityPath = `ServiceRequest.extension.where(url='${modalityExtension}')`;

export function modalityOf(sr: ServiceRequest): Coding | undefined {
  const coding = sr.extension?.find((e) => e.url === modalityExtension)?.valueCoding;
  return coding?.system === actCodeSystem && (coding.code === virtualClass || coding.code === inPersonClass) ? coding : undefined;
}

export function folioOf(sr: ServiceRequest): { system: string; value: string } | undefined {
  const id = sr.identifier?.find((i) => i.system?.startsWith(folioSystemPrefix) && i.value);
  return id?.system && id.value ? { system: id.system, value: id.value } : undefined;
}

/** The specialty asked for: the first coded performerType. */
export function specialtyOf(sr: ServiceRequest): Coding | undefined {
  return (sr.performerType?.coding ?? []).find((c) => c.system && c.code);
}

const refTo = (ref: string | undefined, types: string[]) => ref !== undefined && types.some((t) => new RegExp(`(?:^|/)${t}/[A-Za-z0-9\\-.]{1,64}$`).test(ref));

/** Every problem at once, each naming its element (422). */
export function referralIssues(sr: ServiceRequest): OperationOutcomeIssue[] {
  const out: OperationOutcomeIssue[] = [];
  const need = (ok: boolean, path: string, es: string, en: string) => {
    if (!ok) out.push(issue('required', { es: `Referencia (mx-referencia): ${es}`, en: `Referral (mx-referencia): ${en}` }, path));
  };
  need(sr.status === 'active' || sr.status === 'revoked' || sr.status === 'completed', 'ServiceRequest.status', 'status active al enviarla (revoked o completed después)', 'status active when sent (revoked or completed later)');
  need(sr.intent === 'order', 'ServiceRequest.intent', 'intent debe ser order', 'intent must be order');
  need(hasCoding(sr.category, snomed, referralCategory), 'ServiceRequest.category', `category con SNOMED CT ${referralCategory} (referencia de paciente)`, `category with SNOMED CT ${referralCategory} (patient referral)`);
  need(refTo(sr.subject?.reference, ['Patient']), 'ServiceRequest.subject', 'subject es el Patient referido', 'subject is the referred Patient');
  need(refTo(sr.requester?.reference, ['Practitioner', 'PractitionerRole']), 'ServiceRequest.requester', 'requester es el médico que refiere (Practitioner o PractitionerRole, con cédula)', 'requester is the referring clinician (Practitioner or PractitionerRole, with cédula)');
  need((sr.performer ?? []).length === 1 && refTo(sr.performer?.[0]?.reference, ['Organization', 'HealthcareService']), 'ServiceRequest.performer', 'exactamente un performer: la unidad receptora (Organization) o su HealthcareService', 'exactly one performer: the receiving unit (Organization) or its HealthcareService');
  need(specialtyOf(sr) !== undefined, 'ServiceRequest.performerType', 'performerType con la especialidad codificada (SNOMED CT)', 'performerType with the coded specialty (SNOMED CT)');
  need(sr.priority !== undefined, 'ServiceRequest.priority', 'priority (routine, urgent, asap, stat)', 'priority (routine, urgent, asap, stat)');
  need(modalityOf(sr) !== undefined, modalityPath, `extensión ${modalityExtension} con v3-ActCode ${virtualClass} (telemedicina) o ${inPersonClass} (presencial)`, `extension ${modalityExtension} with v3-ActCode ${virtualClass} (telemedicine) or ${inPersonClass} (in person)`);
  need(hasCieReason(sr), 'ServiceRequest.reasonCode', 'reasonCode con un diagnóstico CIE-10', 'reasonCode with a CIE-10 diagnosis');
  need((sr.supportingInfo ?? []).some((r) => r.reference), 'ServiceRequest.supportingInfo', 'supportingInfo con el resumen clínico (motivo de envío, impresión diagnóstica, terapéutica empleada)', 'supportingInfo with the clinical summary (reason for referral, diagnostic impression, treatment given)');
  need(folioOf(sr) !== undefined, 'ServiceRequest.identifier', `identifier con el folio de referencia de la unidad (system ${folioSystemPrefix}{CLUES})`, `identifier with the unit's referral folio (system ${folioSystemPrefix}{CLUES})`);
  return out;
}

function hasCieReason(sr: ServiceRequest): boolean {
  return (sr.reasonCode ?? []).some((c) => (c.coding ?? []).some((x) => (x.system === cie10System || x.system === icd10System) && x.code));
}

/** What names a referral and so never changes once sent. */
export const fixedReferralElements = ['subject', 'requester', 'performer', 'performerType', 'identifier', 'intent', 'category'] as const;
