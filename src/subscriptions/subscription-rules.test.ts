import type { Subscription } from '@medplum/fhirtypes';
import { expect, test } from 'vitest';
import { isFhirError } from '../fhir/errors.ts';
import { filterCriteriaUrl, payloadContentUrl } from './notification.ts';
import { heartbeatPeriodUrl, planSubscription, typesOf } from './subscription-rules.ts';
import { topicBase } from './topics.ts';

const policy = { allowed: [] };
const sub = (more: Partial<Subscription> & Record<string, unknown> = {}): Subscription =>
  ({ resourceType: 'Subscription', status: 'requested', reason: 'r', criteria: 'Observation?code=x', channel: { type: 'rest-hook', endpoint: 'https://hooks.example/ecu' }, ...more }) as Subscription;

function refusal(s: Subscription): { status: number; expression?: string[] } {
  try {
    planSubscription(s, policy);
  } catch (err) {
    if (isFhirError(err)) return { status: err.status, expression: err.outcome.issue[0]?.expression };
    throw err;
  }
  throw new Error('accepted');
}

test('R4 criteria: a search URL; no payload means empty notifications, application/fhir+json means full resources', () => {
  const plan = planSubscription(sub(), policy);
  expect(plan.criteria).toEqual({ resourceType: 'Observation', query: { code: 'x' } });
  expect(plan.content).toBe('empty');
  expect(planSubscription(sub({ channel: { type: 'rest-hook', endpoint: 'https://hooks.example/ecu', payload: 'application/fhir+json' } }), policy).content).toBe('full-resource');
  expect(typesOf(plan)).toEqual(['Observation']);
});

test('Backport topics with filter criteria and payload content; headers parsed', () => {
  const plan = planSubscription(
    sub({
      criteria: `${topicBase}referral-created`,
      _criteria: { extension: [{ url: filterCriteriaUrl, valueString: 'Task?owner=Organization/cmn' }] },
      channel: { type: 'rest-hook', endpoint: 'https://hooks.example/ecu', payload: 'application/fhir+json', ...{ _payload: { extension: [{ url: payloadContentUrl, valueCode: 'id-only' }] } }, header: ['Authorization: Bearer abc'] },
    }),
    policy,
  );
  expect(plan.topic?.url).toBe(`${topicBase}referral-created`);
  expect(plan.filters.get('owner')).toEqual(['Organization/cmn']);
  expect(plan.content).toBe('id-only');
  expect(plan.headers).toEqual({ authorization: 'Bearer abc' });
  expect(typesOf(plan)).toEqual(['Task']);
});

test('refusals name the element', () => {
  expect(refusal(sub({ channel: { type: 'email', endpoint: 'mailto:x@y' } }))).toEqual({ status: 422, expression: ['Subscription.channel.type'] });
  expect(refusal(sub({ channel: { type: 'rest-hook', endpoint: 'http://hooks.example/ecu' } }))).toEqual({ status: 422, expression: ['Subscription.channel.endpoint'] });
  expect(refusal(sub({ channel: { type: 'rest-hook', endpoint: 'https://hooks.example/ecu', header: ['no colon'] } }))).toEqual({ status: 422, expression: ['Subscription.channel.header[0]'] });
  expect(refusal(sub({ criteria: `${topicBase}unknown` }))).toEqual({ status: 422, expression: ['Subscription.criteria'] });
  expect(refusal(sub({ criteria: 'not a search' }))).toEqual({ status: 422, expression: ['Subscription.criteria'] });
  expect(refusal(sub({ criteria: 'Observation?_include=Observation:subject' }))).toEqual({ status: 422, expression: ['Subscription.criteria'] });
});

test('backport-heartbeat-period: seconds, at least 1; absent means no heartbeats', () => {
  const withPeriod = (value: unknown) => sub({ channel: { type: 'rest-hook', endpoint: 'https://hooks.example/ecu', extension: [{ url: heartbeatPeriodUrl, valueUnsignedInt: value }] } } as never);
  expect(planSubscription(withPeriod(30), policy).heartbeatSeconds).toBe(30);
  expect(planSubscription(sub(), policy).heartbeatSeconds).toBeUndefined();
  for (const bad of [0, 1.5, undefined]) expect(refusal(withPeriod(bad))).toEqual({ status: 422, expression: ['Subscription.channel.extension'] });
});
