/**
 * The referral network, read from ordinary resources: which unit refers
 * (PractitionerRole.organization, else the writer's unit by CLUES), which
 * receives (the performer, or the HealthcareService's providedBy), and
 * whether the receiving unit accepts referrals from it for that specialty
 * (an active OrganizationAffiliation: organization = receiving unit,
 * participatingOrganization = referring unit, specialty) and offers it in
 * that modality (an active HealthcareService with the specialty and, for
 * telemedicine, the VR characteristic). Specialties are data, not code.
 */
import type { HealthcareService, Organization, OrganizationAffiliation, Practitioner, PractitionerRole, ServiceRequest } from '@medplum/fhirtypes';
import { forbidden } from '../auth/guard.ts';
import { rowAccessFor } from '../auth/readable.ts';
import { unprocessable, type Message } from '../fhir/errors.ts';
import type { FhirContext } from '../fhir/types.ts';
import { cedulaProfesionalSystem, cluesSystem } from '../mx/systems.ts';
import type { RowAccess } from '../search/row-access.ts';
import type { Db } from '../store/resource-store.ts';
import { cluesOf } from '../summary/authoring-unit.ts';
import { findResources, readResource } from './referral-store.ts';
import { folioOf, modalityOf, modalityPath, specialtyOf } from './referral-request.ts';
import { actCodeSystem, folioSystemPrefix, hasCoding, idOf, virtualClass } from './systems.ts';

export interface ReferralParties {
  requesterOrg: string;
  ownerOrg: string;
  requesterClues: string;
  ownerClues: string;
}

const refused = (message: Message, path: string) => unprocessable(message, path, 'business-rule');

function active(period: { start?: string; end?: string } | undefined, now: Date): boolean {
  return (!period?.start || new Date(period.start) <= now) && (!period?.end || new Date(period.end) >= now);
}

async function referringClinician(tx: Db, sr: ServiceRequest, access: RowAccess | undefined): Promise<{ organization?: string }> {
  const ref = sr.requester?.reference;
  const roleId = idOf('PractitionerRole', ref);
  const role = roleId ? await readResource<PractitionerRole>(tx, 'PractitionerRole', roleId, access) : undefined;
  if (roleId && !role) throw refused({ es: `No existe ${ref ?? ''}`, en: `${ref ?? ''} does not exist` }, 'ServiceRequest.requester');
  const practitionerId = role ? idOf('Practitioner', role.practitioner?.reference) : idOf('Practitioner', ref);
  const practitioner = await readResource<Practitioner>(tx, 'Practitioner', practitionerId, access);
  if (!(practitioner?.identifier ?? []).some((i) => i.system === cedulaProfesionalSystem && i.value)) {
    throw refused(
      { es: 'Quien refiere debe ser un Practitioner existente con cédula profesional', en: 'The referring clinician must be an existing Practitioner with a cédula profesional' },
      'ServiceRequest.requester',
    );
  }
  return { organization: idOf('Organization', role?.organization?.reference) };
}

/** Who refers to whom, checked against the network; throws a 422 naming the element otherwise. */
export async function resolveParties(tx: Db, ctx: FhirContext, sr: ServiceRequest): Promise<ReferralParties> {
  // Read as the sender may read: an answer never depends on what it could not read itself.
  const access = rowAccessFor(ctx.actor);
  const clinician = await referringClinician(tx, sr, access);
  let referring: Organization | undefined;
  if (clinician.organization) {
    referring = await readResource<Organization>(tx, 'Organization', clinician.organization, access);
  } else if (ctx.actor?.clues) {
    referring = (await findResources<Organization>(tx, ctx, 'Organization', { identifier: `${cluesSystem}|${ctx.actor.clues}` }, access))[0];
  }
  const requesterClues = cluesOf(referring);
  if (!referring?.id || !requesterClues) {
    throw refused(
      { es: 'No se sabe qué unidad refiere: use un PractitionerRole con organization, o un token con la CLUES de una Organization registrada', en: 'The referring unit is unknown: use a PractitionerRole with organization, or a token with the CLUES of a registered Organization' },
      'ServiceRequest.requester',
    );
  }
  if (ctx.actor && ctx.actor.clues !== requesterClues) {
    throw forbidden({ es: `Solo la unidad que refiere (CLUES ${requesterClues}) envía su referencia`, en: `Only the referring unit (CLUES ${requesterClues}) sends its referral` }, 'ServiceRequest.requester');
  }
  const performerRef = sr.performer?.[0]?.reference;
  const serviceId = idOf('HealthcareService', performerRef);
  const named = serviceId ? await readResource<HealthcareService>(tx, 'HealthcareService', serviceId, access) : undefined;
  if (serviceId && !named) throw refused({ es: `No existe ${performerRef ?? ''}`, en: `${performerRef ?? ''} does not exist` }, 'ServiceRequest.performer');
  const ownerId = named ? idOf('Organization', named.providedBy?.reference) : idOf('Organization', performerRef);
  const receiving = await readResource<Organization>(tx, 'Organization', ownerId, access);
  const ownerClues = cluesOf(receiving);
  if (!receiving?.id || !ownerClues) {
    throw refused({ es: 'La unidad receptora debe ser una Organization existente con CLUES', en: 'The receiving unit must be an existing Organization with a CLUES' }, 'ServiceRequest.performer');
  }
  if (receiving.id === referring.id) {
    throw refused({ es: 'Una unidad no se refiere pacientes a sí misma', en: 'A unit does not refer patients to itself' }, 'ServiceRequest.performer');
  }
  const folio = folioOf(sr);
  if (folio && folio.system !== `${folioSystemPrefix}${requesterClues}`) {
    throw refused({ es: `El folio de referencia lo emite la unidad que refiere: system ${folioSystemPrefix}${requesterClues}`, en: `The referral folio is the referring unit's: system ${folioSystemPrefix}${requesterClues}` }, 'ServiceRequest.identifier');
  }
  await checkNetwork(tx, ctx, sr, referring, receiving, named, access);
  return { requesterOrg: referring.id, ownerOrg: receiving.id, requesterClues, ownerClues };
}

async function checkNetwork(tx: Db, ctx: FhirContext, sr: ServiceRequest, referring: Organization, receiving: Organization, named: HealthcareService | undefined, access: RowAccess | undefined): Promise<void> {
  const specialty = specialtyOf(sr);
  const code = `${specialty?.system ?? ''}|${specialty?.code ?? ''}`;
  const label = specialty?.display ?? specialty?.code ?? '';
  const now = ctx.now();
  const links = (
    await findResources<OrganizationAffiliation>(tx, ctx, 'OrganizationAffiliation', { 'primary-organization': `Organization/${receiving.id ?? ''}`, 'participating-organization': `Organization/${referring.id ?? ''}` }, access)
  ).filter((a) => a.active !== false && active(a.period, now));
  const units = { es: `${receiving.name ?? receiving.id ?? ''} no recibe referencias de ${referring.name ?? referring.id ?? ''}`, en: `${receiving.name ?? receiving.id ?? ''} takes no referrals from ${referring.name ?? referring.id ?? ''}` };
  if (links.length === 0) {
    throw refused({ es: `Fuera de la red: ${units.es} (no hay OrganizationAffiliation activa)`, en: `Outside the network: ${units.en} (no active OrganizationAffiliation)` }, 'ServiceRequest.performer');
  }
  if (!links.some((a) => hasCoding(a.specialty, specialty?.system ?? '', specialty?.code ?? ''))) {
    throw refused({ es: `Fuera de la red: ${units.es} para ${label} (${code})`, en: `Outside the network: ${units.en} for ${label} (${code})` }, 'ServiceRequest.performerType');
  }
  const services = named ? [named] : await findResources<HealthcareService>(tx, ctx, 'HealthcareService', { organization: `Organization/${receiving.id ?? ''}`, specialty: code }, access);
  const offering = services.filter((s) => s.active !== false && hasCoding(s.specialty, specialty?.system ?? '', specialty?.code ?? ''));
  if (offering.length === 0) {
    throw refused({ es: `${receiving.name ?? ''} no ofrece ${label} (${code}): ningún HealthcareService activo con esa especialidad`, en: `${receiving.name ?? ''} does not offer ${label} (${code}): no active HealthcareService with that specialty` }, named ? 'ServiceRequest.performer' : 'ServiceRequest.performerType');
  }
  if (modalityOf(sr)?.code === virtualClass && !offering.some((s) => hasCoding(s.characteristic, actCodeSystem, virtualClass))) {
    throw refused({ es: `${receiving.name ?? ''} no ofrece ${label} por telemedicina (HealthcareService.characteristic ${virtualClass})`, en: `${receiving.name ?? ''} does not offer ${label} by telemedicine (HealthcareService.characteristic ${virtualClass})` }, modalityPath);
  }
}
