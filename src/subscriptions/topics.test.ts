import { describe, expect, test } from 'vitest';
import { authoringUnitUrl } from '../summary/authoring-unit.ts';
import { cluesSystem } from '../mx/systems.ts';
import { parseFilters, passesFilters, topicByUrl, topicBase, unknownFilters, type ChangeEvent } from './topics.ts';

const task = (status: string, extra: object = {}) => ({ resourceType: 'Task', status, intent: 'order', focus: { reference: 'ServiceRequest/sr1' }, owner: { reference: 'Organization/cmn' }, requester: { reference: 'Organization/umf' }, ...extra });
const ev = (resourceType: string, facts: ChangeEvent['facts'], resource: object | undefined, patients: string[] = []): ChangeEvent => ({ resourceType, facts, resource: resource as ChangeEvent['resource'], patients });
const topic = (key: string) => topicByUrl(`${topicBase}${key}`)!;

describe('topic triggers', () => {
  test('referral created: a referral Task created, not any Task, not an update', () => {
    const t = topic('referral-created');
    expect(t.triggers(ev('Task', { interaction: 'create', status: 'requested' }, task('requested')))).toBe(true);
    expect(t.triggers(ev('Task', { interaction: 'create', status: 'requested' }, task('requested', { focus: { reference: 'Patient/1' } })))).toBe(false);
    expect(t.triggers(ev('Task', { interaction: 'update', status: 'accepted', previousStatus: 'requested' }, task('accepted')))).toBe(false);
  });
  test('Task status changed only when the status moved; contrarreferencia only on reaching completed', () => {
    const changed = topic('task-status-changed');
    expect(changed.triggers(ev('Task', { interaction: 'update', status: 'accepted', previousStatus: 'requested' }, task('accepted')))).toBe(true);
    expect(changed.triggers(ev('Task', { interaction: 'update', status: 'accepted', previousStatus: 'accepted' }, task('accepted')))).toBe(false);
    const contra = topic('contrarreferencia-available');
    expect(contra.triggers(ev('Task', { interaction: 'update', status: 'completed', previousStatus: 'in-progress' }, task('completed')))).toBe(true);
    expect(contra.triggers(ev('Task', { interaction: 'update', status: 'completed', previousStatus: 'completed' }, task('completed')))).toBe(false);
  });
  test('receta signed is draft → active; cancelled is any → cancelled; dispensed is a completed dispense', () => {
    const mr = { resourceType: 'MedicationRequest' };
    expect(topic('receta-signed').triggers(ev('MedicationRequest', { interaction: 'update', status: 'active', previousStatus: 'draft' }, mr))).toBe(true);
    expect(topic('receta-signed').triggers(ev('MedicationRequest', { interaction: 'create', status: 'active' }, mr))).toBe(false);
    expect(topic('receta-cancelled').triggers(ev('MedicationRequest', { interaction: 'update', status: 'cancelled', previousStatus: 'active' }, mr))).toBe(true);
    expect(topic('receta-cancelled').triggers(ev('MedicationRequest', { interaction: 'delete' }, undefined))).toBe(false);
    expect(topic('receta-dispensed').triggers(ev('MedicationDispense', { interaction: 'create', status: 'completed' }, { resourceType: 'MedicationDispense' }))).toBe(true);
    expect(topic('receta-dispensed').triggers(ev('MedicationDispense', { interaction: 'create', status: 'in-progress' }, { resourceType: 'MedicationDispense' }))).toBe(false);
  });
  test('patient compartment: created resources with a patient only', () => {
    const t = topic('patient-compartment');
    expect(t.triggers(ev('Observation', { interaction: 'create' }, { resourceType: 'Observation' }, ['p1']))).toBe(true);
    expect(t.triggers(ev('Observation', { interaction: 'update' }, { resourceType: 'Observation' }, ['p1']))).toBe(false);
    expect(t.triggers(ev('Organization', { interaction: 'create' }, { resourceType: 'Organization' }, []))).toBe(false);
  });
});

describe('filters', () => {
  test('parsed from Type?a=b,c and bare a=b; AND across names, OR within one', () => {
    const f = parseFilters(['Task?owner=Organization/cmn,Organization/x', 'status=requested']);
    expect([...f.entries()]).toEqual([['owner', ['Organization/cmn', 'Organization/x']], ['status', ['requested']]]);
    const e = ev('Task', { interaction: 'create', status: 'requested' }, task('requested'));
    expect(passesFilters(f, e)).toBe(true);
    expect(passesFilters(parseFilters(['owner=Organization/cmn&requester=Organization/other']), e)).toBe(false);
    expect(passesFilters(parseFilters(['requester=Organization/umf']), e)).toBe(true);
  });
  test('patient matches with or without the type prefix; unit is the stamped authoring CLUES', () => {
    const r = { resourceType: 'Observation', meta: { extension: [{ url: authoringUnitUrl, valueIdentifier: { system: cluesSystem, value: 'DFIMS000011' } }] } };
    const e = ev('Observation', { interaction: 'create' }, r, ['p1']);
    expect(passesFilters(parseFilters(['patient=Patient/p1']), e)).toBe(true);
    expect(passesFilters(parseFilters(['patient=p1']), e)).toBe(true);
    expect(passesFilters(parseFilters(['patient=Patient/p2']), e)).toBe(false);
    expect(passesFilters(parseFilters(['unit=DFIMS000011']), e)).toBe(true);
    expect(passesFilters(parseFilters(['unit=CSIST000001']), e)).toBe(false);
  });
  test('a filter the topic does not define is reported', () => {
    expect(unknownFilters(topic('referral-created'), parseFilters(['Task?owner=a&color=red']))).toEqual(['color']);
  });
});
