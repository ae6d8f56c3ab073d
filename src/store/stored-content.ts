/**
 * A version's content parsed once for all who read it before it is written
 * (issue 21). Stamping serialises the resource; the stamp hooks (writer,
 * authoring unit) then each parsed that text to add their extension and
 * serialised it again, and the index extraction parsed it once more: three
 * parses of every resource written, ~15 µs each on Synthea data. Here the
 * object a text was made from (or parsed from) is kept beside the version
 * as long as the version's content is still that text.
 *
 * Rule: the object returned is shared; whoever changes it must hand it back
 * with `setStoredContent` (which serialises it), never leave it changed.
 */
import { parseJson, stringifyJson } from '../json/lossless.ts';
import type { StoredVersion } from './resource-store.ts';

const parsed = new WeakMap<StoredVersion, { content: string; resource: unknown }>();

/** The parsed content (undefined for a deletion); parsed at most once per content text. */
export function storedResource<T = unknown>(stored: StoredVersion): T | undefined {
  const content = stored.content;
  if (content === null) return undefined;
  const known = parsed.get(stored);
  if (known && known.content === content) return known.resource as T;
  const resource = parseJson(content);
  parsed.set(stored, { content, resource });
  return resource as T;
}

/** Replaces the version's content by `resource` serialised (losslessly), keeping `resource` as its parsed form. */
export function setStoredContent(stored: StoredVersion, resource: unknown): void {
  const content = stringifyJson(resource);
  stored.content = content;
  parsed.set(stored, { content, resource });
}
