import { describe, expect, test } from 'vitest';
import { transitionError, type RxStatus, type Transition } from './lifecycle.ts';

const base: Transition = { from: 'draft', to: 'draft', contentChanged: false, signing: false, fullyDispensed: false, anyDispensed: false };
const status = (t: Partial<Transition>) => transitionError({ ...base, ...t })?.status;
const all: (RxStatus | undefined)[] = ['draft', 'active', 'on-hold', 'cancelled', 'completed', 'entered-in-error', 'stopped', 'unknown', undefined];

describe('receta lifecycle', () => {
  test('created as draft only', () => {
    expect(status({ from: undefined, to: 'draft' })).toBeUndefined();
    for (const to of all.filter((s) => s !== 'draft' && s !== undefined)) expect(status({ from: undefined, to })).toBe(422);
  });

  test('draft: edits, $sign, cancel, entered-in-error, delete; nothing else', () => {
    expect(status({ contentChanged: true })).toBeUndefined();
    expect(status({ to: 'active', signing: true })).toBeUndefined();
    expect(status({ to: 'active' })).toBe(409);
    for (const to of ['cancelled', 'entered-in-error', undefined] as const) expect(status({ to })).toBeUndefined();
    for (const to of ['completed', 'stopped', 'on-hold', 'unknown'] as const) expect(status({ to })).toBe(409);
  });

  test('active: stopped any time; cancelled / entered-in-error before any dispense; completed only when fully dispensed; never deleted or back to draft', () => {
    const active = { from: 'active' as const };
    expect(status({ ...active, to: 'stopped', anyDispensed: true })).toBeUndefined();
    expect(status({ ...active, to: 'cancelled' })).toBeUndefined();
    expect(status({ ...active, to: 'cancelled', anyDispensed: true })).toBe(409);
    expect(status({ ...active, to: 'entered-in-error', anyDispensed: true })).toBe(409);
    expect(status({ ...active, to: 'completed' })).toBe(409);
    expect(status({ ...active, to: 'completed', fullyDispensed: true })).toBeUndefined();
    for (const to of ['draft', 'on-hold', 'unknown', undefined] as const) expect(status({ ...active, to })).toBe(409);
  });

  test('signed content never changes, whatever the status move', () => {
    for (const to of all) expect(status({ from: 'active', to, contentChanged: true })).toBe(422);
  });

  test('final statuses are final', () => {
    for (const from of ['completed', 'cancelled', 'stopped', 'entered-in-error'] as const) {
      for (const to of all) expect(status({ from, to })).toBe(409);
    }
  });

  test('completed → active only by the ledger giving quantity back (not full any more), never by a client', () => {
    const reopen = { from: 'completed' as const, to: 'active' as const };
    expect(status({ ...reopen, byLedger: true })).toBeUndefined();
    expect(status({ ...reopen })).toBe(409);
    expect(status({ ...reopen, byLedger: true, fullyDispensed: true })).toBe(409);
    expect(status({ ...reopen, byLedger: true, contentChanged: true })).toBe(409);
    for (const from of ['cancelled', 'stopped', 'entered-in-error'] as const) expect(status({ from, to: 'active', byLedger: true })).toBe(409);
  });
});
