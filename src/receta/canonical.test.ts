import type { MedicationRequest } from '@medplum/fhirtypes';
import { expect, test } from 'vitest';
import { canonicalPayload, signedContentChanged } from './canonical.ts';

const rx = (over: Partial<MedicationRequest> = {}): MedicationRequest => ({
  resourceType: 'MedicationRequest',
  id: 'b',
  status: 'draft',
  intent: 'order',
  subject: { reference: 'Patient/p' },
  dispenseRequest: { quantity: { value: 1.5, unit: 'caja' } },
  ...over,
});

test('RFC 8785: sorted keys, no whitespace, prescriptions ordered by id, lifecycle elements left out', () => {
  const bytes = canonicalPayload([rx({ meta: { versionId: '3' }, status: 'active' }), rx({ id: 'a', statusReason: { text: 'x' } })]);
  expect(new TextDecoder().decode(bytes)).toBe(
    '[{"dispenseRequest":{"quantity":{"unit":"caja","value":1.5}},"id":"a","intent":"order","resourceType":"MedicationRequest","subject":{"reference":"Patient/p"}},' +
      '{"dispenseRequest":{"quantity":{"unit":"caja","value":1.5}},"id":"b","intent":"order","resourceType":"MedicationRequest","subject":{"reference":"Patient/p"}}]',
  );
});

test('status and meta may change after signing; anything clinical may not', () => {
  expect(signedContentChanged(rx(), rx({ status: 'completed', meta: { versionId: '9' } }))).toBe(false);
  expect(signedContentChanged(rx(), rx({ dispenseRequest: { quantity: { value: 2, unit: 'caja' } } }))).toBe(true);
  expect(signedContentChanged(rx(), rx({ note: [{ text: 'otra' }] }))).toBe(true);
});
