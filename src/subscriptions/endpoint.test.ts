import { expect, test } from 'vitest';
import { endpointProblem, isForbiddenAddress } from './endpoint.ts';

test('link-local and metadata addresses are never targets, in any spelling', () => {
  for (const a of ['169.254.169.254', '169.254.1.1', '::ffff:169.254.169.254', 'fe80::1', '[fe80::abcd]', 'fd00:ec2::254', '100.100.100.200']) expect(isForbiddenAddress(a), a).toBe(true);
  for (const a of ['127.0.0.1', '10.0.0.1', '2001:db8::1', 'example.org']) expect(isForbiddenAddress(a), a).toBe(false);
});

test('https anywhere when no list is set; http only when listed; a listed prefix is matched by host and path, not by string', () => {
  expect(endpointProblem('https://hooks.example.org/ecu', { allowed: [] })).toBeUndefined();
  expect(endpointProblem('http://hooks.example.org/ecu', { allowed: [] })?.en).toMatch(/https/);
  const tests = { allowed: ['http://127.0.0.1', 'https://hooks.imss.gob.mx/ecu/'] };
  expect(endpointProblem('http://127.0.0.1:4567/x', tests)).toBeUndefined();
  expect(endpointProblem('http://127.0.0.1.evil.example/x', tests)).toBeDefined();
  expect(endpointProblem('https://hooks.imss.gob.mx/ecu/recibe', tests)).toBeUndefined();
  expect(endpointProblem('https://hooks.imss.gob.mx/ecuador', tests)).toBeDefined();
  expect(endpointProblem('https://hooks.imss.gob.mx/otro', tests)).toBeDefined();
  expect(endpointProblem('https://user:pw@hooks.imss.gob.mx/ecu/x', tests)?.en).toMatch(/credentials/);
  expect(endpointProblem('http://169.254.169.254/latest', { allowed: ['http://169.254.169.254'] })?.en).toMatch(/link-local/);
  expect(endpointProblem('http://metadata.google.internal/x', { allowed: [] })?.en).toMatch(/metadata/);
  expect(endpointProblem('nonsense', { allowed: [] })?.en).toMatch(/absolute/);
});
