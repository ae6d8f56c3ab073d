import { Writable } from 'node:stream';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { inject } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/app.ts';
import { adminToken, testAuth } from '../support/tokens.ts';
import { freshCurp } from '../support/receta.ts';

const lines: Record<string, unknown>[] = [];
let app: FastifyInstance;

beforeAll(async () => {
  const stream = new Writable({
    write(chunk, _enc, done) {
      for (const line of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(line));
      done();
    },
  });
  app = await buildApp({ databaseUrl: inject('databaseUrl'), logger: { level: 'info', stream }, auth: testAuth, profileEnforcement: 'declared' });
});
afterAll(async () => {
  await app.close();
});

test('one structured line per request, without bodies, URLs or identifiers', async () => {
  const curp = freshCurp();
  const res = await app.inject({
    method: 'POST',
    url: `/fhir/Patient?note=${curp}`,
    headers: { 'content-type': 'application/fhir+json', authorization: `Bearer ${adminToken}` },
    payload: { resourceType: 'Patient', identifier: [{ system: 'urn:oid:2.16.840.1.113883.4.629', value: curp }], name: [{ family: 'Villaseñor' }] },
  });
  expect(res.statusCode).toBe(201);
  await app.inject({ method: 'GET', url: `/fhir/Patient/${res.json().id}`, headers: { authorization: `Bearer ${adminToken}` } });
  const requestLines = lines.filter((l) => l.msg === 'request');
  expect(requestLines).toHaveLength(2);
  expect(requestLines[0]).toMatchObject({ method: 'POST', route: '/fhir/:type', status: 201 });
  expect(requestLines[0]!.reqId).toBe(res.headers['x-request-id']);
  expect(typeof requestLines[0]!.ms).toBe('number');
  expect(requestLines[1]).toMatchObject({ method: 'GET', route: '/fhir/:type/:id', status: 200 });
  const all = JSON.stringify(lines);
  expect(all).not.toContain(curp);
  expect(all).not.toContain('Villaseñor');
  expect(all).not.toContain(res.json().id);
});
