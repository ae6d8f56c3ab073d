import type { Task } from '@medplum/fhirtypes';
import { describe, expect, test } from 'vitest';
import { isFhirError, type FhirError } from '../fhir/errors.ts';
import { checkTaskFields } from './task-fields.ts';
import { checkTransition, describeMoves, finalStatuses, movesFrom, type Side, type TaskStatus } from './task-machine.ts';
import { sideOf } from './side.ts';
import type { Actor } from '../auth/actor.ts';

const all: TaskStatus[] = ['draft', 'requested', 'received', 'accepted', 'rejected', 'ready', 'cancelled', 'in-progress', 'on-hold', 'failed', 'completed', 'entered-in-error'];

function thrown(f: () => unknown): FhirError {
  try {
    f();
  } catch (err) {
    if (isFhirError(err)) return err;
    throw err;
  }
  throw new Error('expected a FhirError');
}

const text = (e: FhirError) => e.outcome.issue.map((i) => i.details?.text ?? '').join(' ');

describe('the referral task state machine', () => {
  const legal: [TaskStatus, TaskStatus, Side][] = [
    ['requested', 'received', 'receiving'],
    ['requested', 'rejected', 'receiving'],
    ['requested', 'cancelled', 'referring'],
    ['received', 'accepted', 'receiving'],
    ['received', 'rejected', 'receiving'],
    ['received', 'on-hold', 'receiving'],
    ['received', 'cancelled', 'referring'],
    ['accepted', 'in-progress', 'receiving'],
    ['accepted', 'on-hold', 'receiving'],
    ['accepted', 'failed', 'receiving'],
    ['accepted', 'cancelled', 'referring'],
    ['in-progress', 'completed', 'receiving'],
    ['in-progress', 'on-hold', 'receiving'],
    ['in-progress', 'failed', 'receiving'],
    ['in-progress', 'cancelled', 'referring'],
    ['on-hold', 'failed', 'receiving'],
    ['on-hold', 'cancelled', 'referring'],
  ];

  test.each(legal)('%s → %s by the %s side is allowed', (from, to, side) => {
    expect(checkTransition({ from, to, side })?.to).toBe(to);
  });

  test('every other pair of statuses and sides is a 409 that lists the moves allowed from there and by whom', () => {
    let refused = 0;
    for (const from of all) {
      for (const to of all) {
        if (from === to) continue;
        for (const side of ['receiving', 'referring'] as const) {
          if (legal.some(([f, t, s]) => f === from && t === to && s === side)) continue;
          if (from === 'on-hold' && side === 'receiving' && ['received', 'accepted', 'in-progress'].includes(to)) continue;
          const err = thrown(() => checkTransition({ from, to, side }));
          expect(err.status).toBe(409);
          expect(err.outcome.issue[0]?.expression).toEqual(['Task.status']);
          expect(text(err)).toContain(`Desde ${from} se permite: ${describeMoves(movesFrom(from)).es}`);
          refused++;
        }
      }
    }
    expect(refused).toBeGreaterThan(200);
  });

  test('the referring side cannot accept; the message says who can', () => {
    const err = thrown(() => checkTransition({ from: 'received', to: 'accepted', side: 'referring' }));
    expect(text(err)).toMatch(/Solo la unidad receptora \(Task.owner\) puede hacerlo/);
    expect(text(err)).toMatch(/Only the receiving unit \(Task.owner\) may do it/);
    expect(text(err)).toMatch(/cancelled \(la unidad que refiere \(Task.requester\)\)/);
  });

  test('the receiving side cannot cancel; nobody cancels a completed referral', () => {
    expect(text(thrown(() => checkTransition({ from: 'accepted', to: 'cancelled', side: 'receiving' })))).toMatch(/Solo la unidad que refiere/);
    expect(text(thrown(() => checkTransition({ from: 'completed', to: 'cancelled', side: 'referring' })))).toMatch(/ninguna: es un estado final/);
  });

  test('on-hold returns only to where it came from', () => {
    expect(checkTransition({ from: 'on-hold', to: 'accepted', side: 'receiving', heldFrom: 'accepted' })?.to).toBe('accepted');
    const err = thrown(() => checkTransition({ from: 'on-hold', to: 'in-progress', side: 'receiving', heldFrom: 'accepted' }));
    expect(text(err)).toMatch(/Desde on-hold se permite: accepted \(la unidad receptora/);
    expect(() => checkTransition({ from: 'on-hold', to: 'accepted', side: 'referring', heldFrom: 'accepted' })).toThrow(/Solo la unidad receptora/);
  });

  test('final statuses allow nothing; no caller (internal write) checks only the table', () => {
    for (const s of finalStatuses) expect(movesFrom(s)).toEqual([]);
    expect(checkTransition({ from: 'requested', to: 'received', side: undefined })?.by).toBe('receiving');
    expect(() => checkTransition({ from: 'requested', to: 'completed', side: undefined })).toThrow(/no puede pasar de requested a completed/);
  });
});

describe('what each side may change', () => {
  const base: Task = {
    resourceType: 'Task',
    id: 't1',
    status: 'received',
    intent: 'order',
    code: { coding: [{ system: 'http://hl7.org/fhir/CodeSystem/task-code', code: 'fulfill' }] },
    focus: { reference: 'ServiceRequest/sr1' },
    for: { reference: 'Patient/p1' },
    requester: { reference: 'Organization/umf' },
    owner: { reference: 'Organization/cmn' },
  };

  test('the referring side may add notes, inputs and its own business status', () => {
    const after: Task = { ...base, note: [{ text: 'Se envían estudios' }], input: [{ type: { text: 'ECG' }, valueReference: { reference: 'DocumentReference/d1' } }], businessStatus: { coding: [{ system: 'https://ecu-fhir.org/fhir/CodeSystem/estado-referencia', code: 'information-sent' }] } };
    expect(() => checkTaskFields({ before: base, after, side: 'referring', move: undefined })).not.toThrow();
  });

  test("the referring side may not set the receiving side's business status, nor other elements (403 naming them)", () => {
    const scheduled: Task = { ...base, businessStatus: { coding: [{ system: 'https://ecu-fhir.org/fhir/CodeSystem/estado-referencia', code: 'visit-scheduled' }] } };
    expect(thrown(() => checkTaskFields({ before: base, after: scheduled, side: 'referring', move: undefined })).status).toBe(403);
    const err = thrown(() => checkTaskFields({ before: base, after: { ...base, priority: 'stat', description: 'x' }, side: 'referring', move: undefined }));
    expect(err.status).toBe(403);
    expect(err.outcome.issue[0]?.expression).toEqual(['Task.description, Task.priority']);
    expect(() => checkTaskFields({ before: scheduled, after: base, side: 'receiving', move: undefined })).not.toThrow();
    expect(thrown(() => checkTaskFields({ before: base, after: { ...base, businessStatus: { coding: [{ code: 'information-sent' }] } }, side: 'receiving', move: undefined })).status).toBe(403);
  });

  test('a cancel may carry its reason', () => {
    expect(() => checkTaskFields({ before: base, after: { ...base, status: 'cancelled', statusReason: { text: 'Se resolvió localmente' } }, side: 'referring', move: { to: 'cancelled', by: 'referring' } })).not.toThrow();
  });

  test('nobody changes focus, patient, units, code or intent (422)', () => {
    for (const change of [{ owner: { reference: 'Organization/other' } }, { for: { reference: 'Patient/p2' } }, { focus: { reference: 'ServiceRequest/x' } }, { intent: 'plan' as const }]) {
      const err = thrown(() => checkTaskFields({ before: base, after: { ...base, ...change }, side: 'receiving', move: undefined }));
      expect(err.status).toBe(422);
      expect(err.outcome.issue[0]?.expression?.[0]).toBe(`Task.${Object.keys(change)[0] ?? ''}`);
    }
  });

  test('reject and fail need statusReason; complete needs a Composition in output', () => {
    expect(thrown(() => checkTaskFields({ before: base, after: { ...base, status: 'rejected' }, side: 'receiving', move: { to: 'rejected', by: 'receiving', requires: 'statusReason' } })).outcome.issue[0]?.expression).toEqual(['Task.statusReason']);
    expect(() => checkTaskFields({ before: base, after: { ...base, status: 'rejected', statusReason: { text: 'No corresponde al nivel' } }, side: 'receiving', move: { to: 'rejected', by: 'receiving', requires: 'statusReason' } })).not.toThrow();
    const done = { to: 'completed' as const, by: 'receiving' as const, requires: 'output' as const };
    expect(thrown(() => checkTaskFields({ before: base, after: { ...base, status: 'completed', output: [{ type: { text: 'x' }, valueReference: { reference: 'DocumentReference/d' } }] }, side: 'receiving', move: done })).outcome.issue[0]?.expression).toEqual(['Task.output']);
    expect(() => checkTaskFields({ before: base, after: { ...base, status: 'completed', output: [{ type: { text: 'contrarreferencia' }, valueReference: { reference: 'Composition/c1' } }] }, side: 'receiving', move: done })).not.toThrow();
  });
});

describe('side of a caller', () => {
  const actor = (clues?: string): Actor => ({ subject: 's', clues, scope: '', scopes: [] });
  const units = { owner_clues: 'DFIST000017', requester_clues: 'CSIST000123' };
  test('by CLUES against the owner and requester units; neither is 403; no caller is undefined', () => {
    expect(sideOf(actor('DFIST000017'), units)).toBe('receiving');
    expect(sideOf(actor('CSIST000123'), units)).toBe('referring');
    expect(() => sideOf(actor('DFIMS000011'), units)).toThrow(/Solo las unidades de la referencia/);
    expect(() => sideOf(actor(undefined), units)).toThrow(/sin claim clues/);
    expect(sideOf(undefined, units)).toBeUndefined();
  });
});
