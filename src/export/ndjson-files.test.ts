import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { expect, test } from 'vitest';
import { NdjsonFiles } from './ndjson-files.ts';

test('one file per type, a new file every maxPerFile lines, counts exact', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'ndjson-'));
  try {
    const files = new NdjsonFiles(dir, 3);
    await files.append('Patient', ['{"a":1}', '{"a":2}']);
    await files.append('Observation', ['{"o":1}']);
    await files.append('Patient', ['{"a":3}', '{"a":4}', '{"a":5}', '{"a":6}']);
    const out = await files.finish();
    expect(out).toEqual([
      { type: 'Observation', name: 'Observation-1.ndjson', count: 1 },
      { type: 'Patient', name: 'Patient-1.ndjson', count: 3 },
      { type: 'Patient', name: 'Patient-2.ndjson', count: 3 },
    ]);
    expect(await readFile(path.join(dir, 'Patient-2.ndjson'), 'utf8')).toBe('{"a":4}\n{"a":5}\n{"a":6}\n');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
