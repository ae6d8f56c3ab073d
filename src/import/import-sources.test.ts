import { describe, expect, test } from 'vitest';
import { isAllowedSource } from './import-sources.ts';

describe('isAllowedSource', () => {
  const allowed = ['http://127.0.0.1:9000/exports/', 'https://datos.example.mx/ndjson'];
  test('accepts URLs under an allowed prefix', () => {
    expect(isAllowedSource('http://127.0.0.1:9000/exports/Patient.ndjson', allowed)).toBe(true);
    expect(isAllowedSource('https://datos.example.mx/ndjson/a/b.ndjson', allowed)).toBe(true);
    expect(isAllowedSource('https://datos.example.mx/ndjson', allowed)).toBe(true);
  });
  test('refuses other hosts, ports, schemes, paths and credentials', () => {
    expect(isAllowedSource('http://127.0.0.1:9001/exports/Patient.ndjson', allowed)).toBe(false);
    expect(isAllowedSource('http://localhost:9000/exports/Patient.ndjson', allowed)).toBe(false);
    expect(isAllowedSource('https://127.0.0.1:9000/exports/x', allowed)).toBe(false);
    expect(isAllowedSource('https://datos.example.mx/ndjsonx/a', allowed)).toBe(false);
    expect(isAllowedSource('http://127.0.0.1:9000/other/x', allowed)).toBe(false);
    expect(isAllowedSource('http://127.0.0.1:9000/exports/../admin', allowed)).toBe(false);
    expect(isAllowedSource('http://user:pw@127.0.0.1:9000/exports/x', allowed)).toBe(false);
    expect(isAllowedSource('file:///etc/passwd', allowed)).toBe(false);
    expect(isAllowedSource('not a url', allowed)).toBe(false);
    expect(isAllowedSource('http://127.0.0.1:9000/exports/x', [])).toBe(false);
  });
});
