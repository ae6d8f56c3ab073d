/**
 * Every official R4 example (npm package hl7.fhir.r4.examples@4.0.1, 5,306
 * resources) written with PUT [type]/[id] in `declared` profile mode: none
 * may cause a 5xx; each one accepted reads back exactly as sent apart from
 * `meta` (numbers compared by their text: 1.50 is not 1.5); each one refused
 * is listed in test/fixtures/official-examples-refused.json with the defect
 * of the example that makes it invalid R4 (checked against the spec), or,
 * for AuditEvent, the server's policy that only it writes the audit trail.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { describe, expect, test } from 'vitest';
import { fhirJson, useTestApp } from '../support/app.ts';

// The two largest examples (Bundle-resources, Bundle-dataelements) exceed the default 16 MB body limit.
const t = useTestApp({ ownDatabase: true, bodyLimit: 64 * 1024 * 1024 });
const folder = path.dirname(createRequire(import.meta.url).resolve('hl7.fhir.r4.examples/package.json'));
const files = readdirSync(folder).filter((f) => f.endsWith('.json') && f !== 'package.json' && !f.startsWith('.'));
const refusedFixture = JSON.parse(readFileSync(path.resolve(import.meta.dirname, '../fixtures/official-examples-refused.json'), 'utf8')) as Record<string, { status: number; kind: 'defect' | 'policy'; reason: string; match: string }>;

/** The JSON with every number replaced by its text, so 1.50 and 1.5 differ. */
function numbersAsText(text: string): unknown {
  return JSON.parse(text, (_key, value, context?: { source?: string }) => (typeof value === 'number' ? `#number ${context?.source ?? String(value)}` : value));
}

function withoutMeta(value: unknown): unknown {
  const { meta: _meta, ...rest } = value as Record<string, unknown>;
  return rest;
}

interface Result {
  file: string;
  status: number;
  body: string;
  mismatch?: string;
}

async function load(file: string): Promise<Result> {
  const text = readFileSync(path.join(folder, file), 'utf8');
  const { resourceType, id } = JSON.parse(text) as { resourceType: string; id?: string };
  const put = await t.request({ method: 'PUT', url: `/fhir/${resourceType}/${encodeURIComponent(id ?? '')}`, headers: fhirJson, payload: text });
  if (put.statusCode >= 300) return { file, status: put.statusCode, body: put.body };
  const read = await t.request({ method: 'GET', url: `/fhir/${resourceType}/${encodeURIComponent(id ?? '')}` });
  const sent = withoutMeta(numbersAsText(text));
  const back = withoutMeta(numbersAsText(read.body));
  // Property order carries no meaning in JSON (the server writes resourceType, id and meta first).
  const same = isDeepStrictEqual(sent, back);
  return { file, status: put.statusCode, body: '', mismatch: same ? undefined : `${read.statusCode} ${firstDifference(canonical(sent), canonical(back))}` };
}

function canonical(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => (v && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => a.localeCompare(b))) : v));
}

function firstDifference(a: string, b: string): string {
  let i = 0;
  while (i < a.length && a[i] === b[i]) i++;
  return `sent …${a.slice(Math.max(0, i - 60), i + 60)}… read …${b.slice(Math.max(0, i - 60), i + 60)}…`;
}

async function loadAll(concurrency: number): Promise<Result[]> {
  const results: Result[] = [];
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < files.length) {
      const file = files[next++]!;
      results.push(await load(file));
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return results;
}

describe('the official R4 examples', () => {
  test('all 5,306 load: no 5xx, accepted ones read back as sent, refused ones are listed with their defect', { timeout: 600_000 }, async () => {
    expect(files.length).toBe(5306);
    const results = await loadAll(6);
    if (process.env.WRITE_REFUSED) {
      // For whoever updates the fixture: every refusal and mismatch, in full.
      const { writeFileSync } = await import('node:fs');
      const report = results.filter((r) => r.status >= 300 || r.mismatch).sort((a, b) => a.file.localeCompare(b.file));
      writeFileSync(process.env.WRITE_REFUSED, JSON.stringify(report.map((r) => ({ file: r.file, status: r.status, mismatch: r.mismatch, issues: r.body ? (JSON.parse(r.body) as { issue?: { details?: { text?: string } }[] }).issue?.map((i) => i.details?.text) : undefined })), null, 1));
    }
    const serverErrors = results.filter((r) => r.status >= 500).map((r) => `${r.file}: ${r.status} ${r.body.slice(0, 300)}`);
    expect(serverErrors).toEqual([]);
    const changed = results.filter((r) => r.mismatch).map((r) => `${r.file}: ${r.mismatch}`);
    expect(changed).toEqual([]);
    const refused = Object.fromEntries(results.filter((r) => r.status >= 300).map((r) => [r.file, r]));
    // Every refusal is expected, for the reason the fixture gives (its `match` is part of the outcome's text).
    const unexpected = Object.values(refused)
      .filter((r) => !refusedFixture[r.file] || refusedFixture[r.file]!.status !== r.status || !r.body.includes(refusedFixture[r.file]!.match))
      .map((r) => `${r.file}: ${r.status} ${r.body.slice(0, 400)}`);
    expect(unexpected).toEqual([]);
    const nowAccepted = Object.keys(refusedFixture).filter((f) => !refused[f]);
    expect(nowAccepted).toEqual([]);
  });
});
