/**
 * Finds which registered FHIR route a method + relative URL addresses, the
 * way the HTTP router would: static segments win over `:params`. Bundle
 * entries use it, so an entry reaches exactly the interaction the same
 * request would reach over HTTP.
 */
import { badText, checkText, decodeStrict } from './input-text.ts';
import type { FhirRoute } from './routes.ts';
import type { HttpMethod } from './types.ts';

export interface RouteMatch {
  route: FhirRoute;
  params: Record<string, string>;
}

/** `where` names the URL in errors: a segment that does not decode to acceptable text is a 400. */
export function matchRoute(routes: readonly FhirRoute[], method: HttpMethod, path: string, where = 'url'): RouteMatch | undefined {
  const segments = path.split('/').filter((s) => s.length > 0).map((raw) => {
    const s = decodeStrict(raw, false);
    if (s === undefined) throw badText(where, 'encoding');
    checkText(s, where);
    return s;
  });
  let best: { match: RouteMatch; statics: number } | undefined;
  for (const route of routes) {
    if (route.method !== method) continue;
    const pattern = route.path.split('/').filter((s) => s.length > 0);
    if (pattern.length !== segments.length) continue;
    const params: Record<string, string> = {};
    let statics = 0;
    let ok = true;
    for (let i = 0; i < pattern.length && ok; i++) {
      const p = pattern[i] ?? '';
      const s = segments[i] ?? '';
      if (p.startsWith(':')) params[p.slice(1)] = s;
      else if (p === s) statics++;
      else ok = false;
    }
    if (ok && (!best || statics > best.statics)) {
      best = { match: { route, params }, statics };
    }
  }
  return best?.match;
}
