import { createHmac } from 'node:crypto';
import type { Parameters } from '@medplum/fhirtypes';
import { expect, test } from 'vitest';
import { notificationBundle, sign, statusProfile } from './notification.ts';

const input = {
  subscriptionUrl: 'https://ecu.example/fhir/Subscription/s1',
  topic: 'https://ecu-fhir.org/fhir/SubscriptionTopic/referral-created',
  status: 'active',
  type: 'event-notification' as const,
  eventsSinceSubscriptionStart: 7,
  events: [{ eventNumber: 7, timestamp: '2026-12-01T10:00:00.000Z', resourceType: 'Task', id: 't1', interaction: 'create' as const, resource: { resourceType: 'Task', id: 't1' } as never }],
};

test('a history Bundle whose first entry is the SubscriptionStatus; payload content decides the rest', () => {
  const full = notificationBundle(input, 'full-resource', 'https://ecu.example/fhir', new Date());
  expect(full.type).toBe('history');
  const status = full.entry?.[0]?.resource as Parameters;
  expect(status.meta?.profile).toEqual([statusProfile]);
  expect(status.parameter?.find((p) => p.name === 'events-since-subscription-start')?.valueString).toBe('7');
  const event = status.parameter?.find((p) => p.name === 'notification-event');
  expect(event?.part?.find((p) => p.name === 'event-number')?.valueString).toBe('7');
  expect(event?.part?.find((p) => p.name === 'focus')?.valueReference?.reference).toBe('Task/t1');
  expect(full.entry?.[1]).toMatchObject({ fullUrl: 'https://ecu.example/fhir/Task/t1', resource: { id: 't1' }, request: { method: 'POST', url: 'Task' } });
  const idOnly = notificationBundle(input, 'id-only', 'https://ecu.example/fhir', new Date());
  expect(idOnly.entry?.[1]?.resource).toBeUndefined();
  expect(idOnly.entry?.[1]?.fullUrl).toBe('https://ecu.example/fhir/Task/t1');
  const empty = notificationBundle(input, 'empty', 'https://ecu.example/fhir', new Date());
  expect(empty.entry).toHaveLength(1);
  expect(JSON.stringify(empty)).not.toContain('Task/t1');
});

test('the signature is HMAC-SHA256 of "<t>.<body>" with the subscription secret', () => {
  const body = '{"resourceType":"Bundle"}';
  expect(sign('s3cret', body, 1764583200)).toBe(`t=1764583200,v1=${createHmac('sha256', 's3cret').update(`1764583200.${body}`).digest('hex')}`);
  expect(sign('other', body, 1764583200)).not.toBe(sign('s3cret', body, 1764583200));
});
