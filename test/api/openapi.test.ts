import { readFileSync } from 'node:fs';
import { expect, test } from 'vitest';
import { parse } from 'yaml';
import { openapiFile } from '../../src/http/docs.ts';
import { useTestApp } from '../support/app.ts';

const t = useTestApp();
const methods = ['get', 'put', 'post', 'patch', 'delete'];

test('openapi.yaml and the registered routes agree', async () => {
  const doc = parse(readFileSync(openapiFile, 'utf8')) as { openapi: string; paths: Record<string, Record<string, unknown>> };
  expect(doc.openapi).toMatch(/^3\.1\./);
  const documented = Object.entries(doc.paths)
    .flatMap(([path, ops]) => Object.keys(ops).filter((m) => methods.includes(m)).map((m) => `${m.toUpperCase()} ${path}`))
    .sort();
  const registered: string[] = [];
  for (const r of t.app.knownRoutes) {
    if (r.url.startsWith('/docs') || r.method === 'HEAD' || r.method === 'OPTIONS') continue;
    registered.push(`${r.method} ${r.url.replace(/:(\w+)/g, '{$1}')}`);
  }
  expect([...new Set(registered)].sort()).toEqual(documented);
});

test('/openapi.yaml is served and /docs shows Swagger UI', async () => {
  const yaml = await t.request({ method: 'GET', url: '/openapi.yaml' });
  expect(yaml.statusCode).toBe(200);
  expect(yaml.body).toContain('openapi: 3.1.0');
  const docs = await t.request({ method: 'GET', url: '/docs/' });
  expect(docs.statusCode).toBe(200);
  expect(docs.body).toContain('swagger');
});

test('Swagger UI is given the server it is reached on, not a fixed host', async () => {
  const spec = await t.request({ method: 'GET', url: '/docs/json', headers: { host: 'ecu.example:9443' } });
  expect(spec.statusCode).toBe(200);
  expect((JSON.parse(spec.body) as { servers: { url: string }[] }).servers).toEqual([{ url: 'http://ecu.example:9443' }]);
  const yaml = await t.request({ method: 'GET', url: '/openapi.yaml' });
  expect(yaml.body).not.toContain('127.0.0.1:8080');
});

test('GET / is a small HTML page linking /docs, /fhir/metadata and the first steps', async () => {
  const home = await t.request({ method: 'GET', url: '/', token: null });
  expect(home.statusCode).toBe(200);
  expect(home.headers['content-type']).toMatch(/^text\/html/);
  expect(home.body).toContain('href="/docs"');
  expect(home.body).toContain('href="/fhir/metadata"');
  expect(home.body).toMatch(/First steps/);
});
