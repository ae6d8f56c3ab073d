/** What a successful write answers, shaped by `Prefer: return=…` (https://hl7.org/fhir/R4/http.html#ops). */
import { bilingual, outcome, type Message } from './errors.ts';
import { parsePrefer } from './prefer.ts';
import type { FhirContext, FhirResult } from './types.ts';
import { versionHeaders, versionUrl } from './versioning.ts';
import type { StoredVersion } from '../store/resource-store.ts';

export function writeResult(status: number, stored: StoredVersion, prefer: string | undefined, message: Message, ctx: FhirContext): FhirResult {
  const headers = { ...versionHeaders(stored), location: versionUrl(ctx.baseUrl, stored), 'content-location': versionUrl(ctx.baseUrl, stored) };
  switch (parsePrefer(prefer).return) {
    case 'minimal':
      return { status, headers };
    case 'OperationOutcome':
      return { status, headers, body: outcome([{ severity: 'information', code: 'informational', details: { text: bilingual(message) } }]) };
    case 'representation':
    case undefined:
      return { status, headers, body: stored.content ?? undefined };
  }
}
