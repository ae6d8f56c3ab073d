/**
 * Inside every Appointment write's transaction: a Slot is held by at most one
 * Appointment. The guarantee is the primary key of `referral_slot_booking`
 * (slot_id): of any number of concurrent bookings, on any number of
 * instances, one inserts the row and the others wait for its commit and find
 * it taken (409). The Slot itself is marked busy (free again when released),
 * so `Slot?status=free` lists what can still be booked.
 */
import type { Appointment, HealthcareService, Schedule, Slot } from '@medplum/fhirtypes';
import { conflict, unprocessable } from '../fhir/errors.ts';
import { persist, type WrittenVersion } from '../fhir/persist.ts';
import type { FhirContext } from '../fhir/types.ts';
import { stamp } from '../fhir/versioning.ts';
import { readCurrent, type Db } from '../store/resource-store.ts';
import { parseContent, readResource, referralByRequest } from './referral-store.ts';
import { idOf } from './systems.ts';
import { referralDb } from './tables.ts';

/** Appointment statuses that occupy their slots (https://hl7.org/fhir/R4/appointment.html#statemachine). */
const holding: ReadonlySet<string> = new Set(['pending', 'booked', 'arrived', 'fulfilled', 'checked-in']);

export function heldSlots(appointment: Appointment | undefined): string[] {
  if (!appointment || !holding.has(appointment.status)) return [];
  return [...new Set((appointment.slot ?? []).flatMap((s) => idOf('Slot', s.reference) ?? []))].sort();
}

/** The Organization offering a Slot: its Schedule's HealthcareService's providedBy, or an Organization actor. */
async function slotUnit(tx: Db, slot: Slot): Promise<string | undefined> {
  const schedule = await readResource<Schedule>(tx, 'Schedule', idOf('Schedule', slot.schedule?.reference));
  for (const actor of schedule?.actor ?? []) {
    const org = idOf('Organization', actor.reference);
    if (org) return org;
    const service = await readResource<HealthcareService>(tx, 'HealthcareService', idOf('HealthcareService', actor.reference));
    const provider = idOf('Organization', service?.providedBy?.reference);
    if (provider) return provider;
  }
  return undefined;
}

export async function appointmentHook(tx: Db, { stored }: WrittenVersion, ctx: FhirContext): Promise<void> {
  const appointment = parseContent<Appointment>(stored.content);
  const wanted = heldSlots(appointment);
  const rdb = referralDb(tx);
  const released = await rdb.deleteFrom('referral_slot_booking').where('appointment_id', '=', stored.id).$if(wanted.length > 0, (q) => q.where('slot_id', 'not in', wanted)).returning('slot_id').execute();
  for (const { slot_id } of released) {
    await setSlotStatus(tx, ctx, slot_id, 'free');
  }
  // In id order, so two appointments naming the same slots cannot deadlock.
  for (const slotId of wanted) {
    const current = await readCurrent(tx, 'Slot', slotId);
    const slot = current && !current.deleted ? parseContent<Slot>(current.content) : undefined;
    if (!slot) {
      throw unprocessable({ es: `No existe Slot/${slotId}`, en: `Slot/${slotId} does not exist` }, 'Appointment.slot', 'not-found');
    }
    await checkReferralSlot(tx, appointment, slot, slotId);
    const inserted = await rdb
      .insertInto('referral_slot_booking')
      .values({ slot_id: slotId, appointment_id: stored.id, booked: ctx.now() })
      .onConflict((oc) => oc.column('slot_id').doNothing())
      .returning('slot_id')
      .executeTakeFirst();
    if (!inserted) {
      const holder = await rdb.selectFrom('referral_slot_booking').select('appointment_id').where('slot_id', '=', slotId).executeTakeFirst();
      if (holder?.appointment_id === stored.id) continue;
      throw conflict({ es: `Slot/${slotId} ya está reservado (Appointment/${holder?.appointment_id ?? '?'}); elija otro`, en: `Slot/${slotId} is already booked (Appointment/${holder?.appointment_id ?? '?'}); choose another` }, 'Appointment.slot');
    }
    if (slot.status !== 'free') {
      throw conflict({ es: `Slot/${slotId} no está libre (status ${slot.status})`, en: `Slot/${slotId} is not free (status ${slot.status})` }, 'Appointment.slot');
    }
    await setSlotStatus(tx, ctx, slotId, 'busy');
  }
}

/** A referral's consultation takes a Slot of the receiving unit (its HealthcareService's Schedule). */
async function checkReferralSlot(tx: Db, appointment: Appointment | undefined, slot: Slot, slotId: string): Promise<void> {
  for (const basedOn of appointment?.basedOn ?? []) {
    const referral = await referralByRequest(tx, idOf('ServiceRequest', basedOn.reference) ?? '');
    if (referral && (await slotUnit(tx, slot)) !== referral.owner_org) {
      throw unprocessable(
        { es: `Slot/${slotId} no es de la unidad receptora de la referencia (Organization/${referral.owner_org})`, en: `Slot/${slotId} does not belong to the referral's receiving unit (Organization/${referral.owner_org})` },
        'Appointment.slot',
        'business-rule',
      );
    }
  }
}

async function setSlotStatus(tx: Db, ctx: FhirContext, slotId: string, status: 'free' | 'busy'): Promise<void> {
  const current = await readCurrent(tx, 'Slot', slotId);
  const slot = current && !current.deleted ? parseContent<Slot>(current.content) : undefined;
  if (!current || !slot || slot.status === status || (status === 'free' && slot.status !== 'busy')) return;
  if (!(await persist({ ...ctx, db: tx }, stamp({ ...slot, status }, slotId, current.versionId + 1, ctx.now()), current))) {
    throw conflict({ es: `Slot/${slotId} cambió mientras se reservaba; reintente`, en: `Slot/${slotId} changed while being booked; retry` }, 'Appointment.slot');
  }
}
