/**
 * JSON request bodies: Fastify's parser (which refuses __proto__ and
 * constructor keys) behind a nesting-depth check, so a hostile body of
 * 100,000 nested arrays cannot exhaust the stack of whatever walks it later.
 */
import type { FastifyInstance } from 'fastify';
import { badRequest } from '../fhir/errors.ts';
import { losslessReviver, mayLoseNumbers } from '../json/lossless.ts';

export const maxJsonDepth = 100;

/** Deepest nesting of objects/arrays in a JSON text, stopping early past `limit`. Strings are skipped. */
export function jsonDepthExceeds(text: string, limit: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92 /* \ */) i++;
      else if (c === 34 /* " */) inString = false;
    } else if (c === 34) inString = true;
    else if (c === 123 /* { */ || c === 91 /* [ */) {
      if (++depth > limit) return true;
    } else if (c === 125 || c === 93) depth--;
  }
  return false;
}

export function registerJsonParsers(app: FastifyInstance): void {
  const parse = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser(
    ['application/json', 'application/fhir+json', 'application/json+fhir', 'application/json-patch+json'],
    { parseAs: 'string' },
    (request, body, done) => {
      if (typeof body === 'string' && jsonDepthExceeds(body, maxJsonDepth)) {
        done(badRequest({ es: `El JSON anida más de ${maxJsonDepth} niveles`, en: `The JSON nests deeper than ${maxJsonDepth} levels` }, undefined, 'too-costly'), undefined);
        return;
      }
      // Fastify's parser judges the text (syntax, __proto__, constructor); a body whose numbers JavaScript
      // would print differently is then read again remembering their text (see json/lossless.ts).
      void parse(request, body as string, (err, value) => {
        if (err || typeof body !== 'string' || !mayLoseNumbers(body)) return done(err, value);
        done(null, JSON.parse(body, losslessReviver));
      });
    },
  );
}
