/**
 * The prefilter of criteria-prefilter.ts for many subscriptions at once. A
 * version is tested against every R4 criteria of its resource type, and
 * testing each (a substring search of the content per required code) cost
 * the fan-out ~35 µs per version with 100 subscriptions. Here the codes of
 * all of them are one map from code to the filters that ask for it, and a
 * version's content is scanned once for its JSON strings: each is one map
 * look-up, whatever the number of subscriptions.
 *
 * Exact where the substring search was loose, and as safe: a required code
 * is plain printable ASCII without quote or backslash (requiredCodes), the
 * index keeps a token's code as the JSON string it was in the content, and
 * stored content is JSON.stringify's, which writes such a string verbatim
 * between quotes; so a version that can match has each code as one of the
 * content's strings.
 */

interface Entry<G> {
  group: G;
  /** Which of the group's AND-ed filters the code satisfies. */
  filter: number;
}

interface TypeIndex<G> {
  /** Groups whose criteria give no usable code: every version of the type may match. */
  always: G[];
  byCode: Map<string, Entry<G>[]>;
  /** How many filters each indexed group has (all must be satisfied). */
  filters: Map<G, number>;
}

export class CriteriaIndex<G> {
  private readonly byType = new Map<string, TypeIndex<G>>();

  /** `required`: the group's codes, AND of ORs (requiredCodes); empty: no exclusion possible. */
  add(resourceType: string, group: G, required: readonly (readonly string[])[]): void {
    let t = this.byType.get(resourceType);
    if (!t) this.byType.set(resourceType, (t = { always: [], byCode: new Map(), filters: new Map() }));
    if (required.length === 0) {
      t.always.push(group);
      return;
    }
    t.filters.set(group, required.length);
    required.forEach((codes, filter) => {
      for (const code of new Set(codes)) {
        const list = t.byCode.get(code);
        if (list) list.push({ group, filter });
        else t.byCode.set(code, [{ group, filter }]);
      }
    });
  }

  /** Whether any criteria of that type is indexed. */
  watches(resourceType: string): boolean {
    return this.byType.has(resourceType);
  }

  /** The groups of that type a version with this content may match (in the order they were added, then by first hit). */
  candidates(resourceType: string, content: string): G[] {
    const t = this.byType.get(resourceType);
    if (!t) return [];
    const out = [...t.always];
    if (t.byCode.size === 0) return out;
    // Filters satisfied so far per group: one bit each (few filters per criteria), so a code twice counts once.
    let seen: Map<G, number> | undefined;
    forEachString(content, (s) => {
      const entries = t.byCode.get(s);
      if (!entries) return;
      seen ??= new Map();
      for (const { group, filter } of entries) seen.set(group, (seen.get(group) ?? 0) | (1 << Math.min(filter, 30)));
    });
    if (!seen) return out;
    for (const [group, bits] of seen) if (bits === fullMask(t.filters.get(group) ?? 0)) out.push(group);
    return out;
  }
}

/** Filters beyond the 31st share a bit: they then exclude nothing, which is safe (the search still judges). */
function fullMask(n: number): number {
  let mask = 0;
  for (let i = 0; i < n; i++) mask |= 1 << Math.min(i, 30);
  return mask;
}

/** Calls `f` with the raw text between each pair of unescaped quotes: the JSON strings (keys included) of a JSON text. */
export function forEachString(json: string, f: (raw: string) => void): void {
  let i = json.indexOf('"');
  while (i >= 0) {
    let j = json.indexOf('"', i + 1);
    // A quote preceded by an odd number of backslashes is inside the string.
    while (j > 0) {
      let k = j - 1;
      while (json.charCodeAt(k) === 92) k--;
      if ((j - 1 - k) % 2 === 0) break;
      j = json.indexOf('"', j + 1);
    }
    if (j < 0) return;
    f(json.slice(i + 1, j));
    i = json.indexOf('"', j + 1);
  }
}
