/**
 * NDJSON output of a bulk export: one file per resource type, a new file
 * every `maxPerFile` resources (https://hl7.org/fhir/uv/bulkdata/export.html#file-request:
 * a type may span several files). Writes honour back-pressure, so memory
 * holds at most one batch whatever the size of the export.
 */
import { createWriteStream, type WriteStream } from 'node:fs';
import { once } from 'node:events';
import path from 'node:path';
import type { OutputFile } from './export-jobs.ts';

interface OpenFile {
  type: string;
  name: string;
  count: number;
  stream: WriteStream;
}

export class NdjsonFiles {
  private readonly dir: string;
  private readonly maxPerFile: number;
  private readonly open = new Map<string, OpenFile>();
  private readonly done: OutputFile[] = [];
  private readonly fileCounts = new Map<string, number>();
  private failure: Error | undefined;

  constructor(dir: string, maxPerFile: number) {
    this.dir = dir;
    this.maxPerFile = maxPerFile;
  }

  /** Appends resources (one JSON text each, no newlines inside) of one type. */
  async append(type: string, lines: readonly string[]): Promise<void> {
    let start = 0;
    while (start < lines.length) {
      if (this.failure) throw this.failure;
      const file = await this.current(type);
      const take = Math.min(lines.length - start, this.maxPerFile - file.count);
      const chunk = lines.slice(start, start + take);
      file.count += chunk.length;
      start += take;
      if (!file.stream.write(`${chunk.join('\n')}\n`)) await once(file.stream, 'drain');
    }
  }

  /** Closes every file; returns them in type order, then file order. */
  async finish(): Promise<OutputFile[]> {
    for (const type of [...this.open.keys()]) await this.close(type);
    return [...this.done].sort((a, b) => (a.type === b.type ? a.name.localeCompare(b.name, 'en', { numeric: true }) : a.type < b.type ? -1 : 1));
  }

  /** Drops every open stream (on failure or cancellation; the caller removes the folder). */
  destroy(): void {
    for (const file of this.open.values()) file.stream.destroy();
    this.open.clear();
  }

  private async current(type: string): Promise<OpenFile> {
    const existing = this.open.get(type);
    if (existing && existing.count < this.maxPerFile) return existing;
    if (existing) await this.close(type);
    const n = (this.fileCounts.get(type) ?? 0) + 1;
    this.fileCounts.set(type, n);
    const name = `${type}-${n}.ndjson`;
    const stream = createWriteStream(path.join(this.dir, name), { flags: 'wx', highWaterMark: 1 << 16 });
    // A disk error fails the export (next append throws) instead of escaping as an unhandled 'error' event.
    stream.on('error', (err) => (this.failure ??= err));
    const file = { type, name, count: 0, stream };
    this.open.set(type, file);
    return file;
  }

  private async close(type: string): Promise<void> {
    const file = this.open.get(type);
    if (!file) return;
    this.open.delete(type);
    const closed = once(file.stream, 'close');
    file.stream.end();
    await closed;
    if (this.failure) throw this.failure;
    this.done.push({ type: file.type, name: file.name, count: file.count });
  }
}
