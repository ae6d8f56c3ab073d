/**
 * Invariants whose published R4 FHIRPath contradicts their own text, corrected
 * as HL7 did in later releases. que-12 says "If there are more than one
 * enableWhen, enableBehavior must be specified" but R4 4.0.1 wrote `> 2`
 * (two conditions without enableBehavior slipped through); R4B and R5 use `> 1`.
 */
import { getAllDataTypes } from '@medplum/core';

const corrected: Record<string, { from: string; to: string }> = {
  'que-12': { from: 'enableWhen.count() > 2 implies enableBehavior.exists()', to: 'enableWhen.count() > 1 implies enableBehavior.exists()' },
};

/** Rewrites the corrected expressions in the loaded type schemas (Medplum's validator reads them from there). */
export function applyR4Errata(): void {
  for (const schema of Object.values(getAllDataTypes())) {
    for (const element of Object.values(schema.elements)) {
      for (const constraint of element.constraints ?? []) {
        const fix = corrected[constraint.key];
        if (fix && constraint.expression === fix.from) constraint.expression = fix.to;
      }
    }
  }
}
