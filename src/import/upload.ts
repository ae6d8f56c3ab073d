/**
 * NDJSON uploaded with a `POST /$import` kick-off (application/fhir+ndjson):
 * streamed straight to a file under the import folder as it arrives, so an
 * upload of any size keeps memory flat; the job then reads the file. Other
 * routes refuse the media type (415) without reading it.
 */
import { randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { IncomingMessage } from 'node:http';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { tooLarge, unsupportedMediaType } from '../fhir/errors.ts';

export const ndjsonTypes = ['application/fhir+ndjson', 'application/ndjson', 'application/x-ndjson'];

/** The parsed body of an upload: only this parser makes one, so a JSON body can never name a file. */
export class UploadedNdjson {
  /** Relative to the import folder. */
  readonly file: string;
  readonly bytes: number;
  constructor(file: string, bytes: number) {
    this.file = file;
    this.bytes = bytes;
  }
}

export function registerNdjsonUpload(app: FastifyInstance, options: { dir: string; maxBytes: number }): void {
  app.addContentTypeParser(ndjsonTypes, async (request: FastifyRequest, payload: IncomingMessage) => {
    const pathname = decodeURIComponent(request.url.split('?')[0] ?? '');
    if (!pathname.endsWith('/$import')) {
      payload.resume();
      throw unsupportedMediaType({ es: 'NDJSON solo se acepta en POST /$import', en: 'NDJSON is only accepted by POST /$import' });
    }
    const file = path.join('uploads', `${randomUUID()}.ndjson`);
    const full = path.join(options.dir, file);
    await mkdir(path.dirname(full), { recursive: true });
    let bytes = 0;
    const limit = new Transform({
      transform(chunk: Buffer, _enc, done) {
        bytes += chunk.length;
        done(bytes > options.maxBytes ? tooLarge({ es: `La carga excede ${options.maxBytes} bytes (IMPORT_MAX_UPLOAD_BYTES)`, en: `The upload exceeds ${options.maxBytes} bytes (IMPORT_MAX_UPLOAD_BYTES)` }) : null, chunk);
      },
    });
    try {
      await pipeline(payload, limit, createWriteStream(full, { flags: 'wx' }));
    } catch (err) {
      await rm(full, { force: true });
      throw err;
    }
    return new UploadedNdjson(file, bytes);
  });
}
