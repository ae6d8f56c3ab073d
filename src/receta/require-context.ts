import type { FhirContext } from '../fhir/types.ts';
import type { RecetaContext } from './context.ts';

/** The receta services of the server (set by src/app.ts); their absence is a wiring bug. */
export function recetaContext(ctx: FhirContext): RecetaContext {
  if (!ctx.receta) {
    throw new Error('receta services are not configured on this server');
  }
  return ctx.receta;
}
