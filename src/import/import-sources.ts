/**
 * Where an import's NDJSON comes from, and reading it line by line. A source
 * is either a file uploaded with the kick-off (kept under the import folder)
 * or a URL the server fetches; a URL is accepted only under one of the
 * prefixes of IMPORT_ALLOWED_SOURCES (origin and path prefix), and redirects
 * are refused, so a kick-off cannot make the server fetch anything else
 * (server-side request forgery).
 */
import { createReadStream } from 'node:fs';
import { access } from 'node:fs/promises';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { Readable } from 'node:stream';

export type ImportSource = { kind: 'upload'; file: string; type?: string } | { kind: 'url'; url: string; type?: string };

/** Whether `url` lies under one of the allowed prefixes: same scheme, host and port, and a path below the prefix's path. */
export function isAllowedSource(url: string, allowed: readonly string[]): boolean {
  let target: URL;
  try {
    target = new URL(url);
  } catch {
    return false;
  }
  if (target.protocol !== 'http:' && target.protocol !== 'https:') return false;
  if (target.username || target.password) return false;
  return allowed.some((prefix) => {
    let base: URL;
    try {
      base = new URL(prefix);
    } catch {
      return false;
    }
    if (base.origin !== target.origin) return false;
    const dir = base.pathname.endsWith('/') ? base.pathname : `${base.pathname}/`;
    return target.pathname === base.pathname || target.pathname.startsWith(dir);
  });
}

export class SourceUnavailable extends Error {}

/** The source's lines, from `skip` on, numbered from 1; blank lines are counted but not yielded. */
export async function* sourceLines(source: ImportSource, dir: string, skip: number, signal: AbortSignal): AsyncGenerator<{ n: number; text: string }> {
  let input: NodeJS.ReadableStream;
  if (source.kind === 'upload') {
    const file = path.join(dir, source.file);
    await access(file).catch(() => {
      throw new SourceUnavailable(`el archivo subido ya no está en este servidor / the uploaded file is no longer on this server (${source.file})`);
    });
    input = createReadStream(file, { highWaterMark: 1 << 16 });
  } else {
    const res = await fetch(source.url, { redirect: 'error', signal }).catch((err: unknown) => {
      throw new SourceUnavailable(`no se pudo leer ${source.url} / could not fetch ${source.url}: ${err instanceof Error ? err.message : String(err)}`);
    });
    if (!res.ok || !res.body) throw new SourceUnavailable(`${source.url} respondió / answered ${res.status}`);
    input = Readable.fromWeb(res.body as import('node:stream/web').ReadableStream);
  }
  const lines = createInterface({ input, crlfDelay: Infinity });
  let n = 0;
  try {
    for await (const text of lines) {
      n++;
      if (n <= skip || text.trim() === '') continue;
      yield { n, text };
    }
  } finally {
    lines.close();
    (input as Readable).destroy?.();
  }
}
