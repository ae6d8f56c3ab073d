/**
 * A cheap necessary condition for R4 criteria, so that matching a write
 * against many subscriptions does not cost a search per subscription: a
 * token parameter without modifier (`code=urn:x|abc`) compares the index's
 * code exactly, and every indexed code is a JSON string (or boolean) of the
 * version's content, so a version whose content has none of the codes
 * asked for as one of its strings cannot match (criteria-index.ts tests
 * that for all subscriptions at once). The search itself (fan-out.ts) stays
 * the judge for everything this lets through. Codes whose JSON form may
 * differ from their text (quotes, backslashes, control characters,
 * non-ASCII, numbers) or that may come from a boolean, even a computed one
 * (`Patient?deceased=true` from a deceasedDateTime), are not used to exclude
 * anything.
 */
import type { SearchRequest } from '../search/search-request.ts';

const plain = /^[\x20-\x7e]+$/;

/** The code lists of the request's plain token filters (AND of ORs); empty when none can be used. */
export function requiredCodes(req: SearchRequest): string[][] {
  const out: string[][] = [];
  for (const f of req.filters) {
    if (f.kind !== 'param' || f.param.type !== 'token' || f.modifier !== undefined) continue;
    const codes: string[] = [];
    let usable = f.values.length > 0;
    for (const v of f.values) {
      const code = (v as { code?: string }).code;
      if (code === undefined || !plain.test(code) || code.includes('"') || code.includes('\\') || /^[-+0-9.eE]+$/.test(code) || code === 'true' || code === 'false') usable = false;
      else codes.push(code);
    }
    if (usable) out.push(codes);
  }
  return out;
}
