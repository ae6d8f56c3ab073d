/** Text normalisation shared by indexing and searching, so that `name=jose` finds "José". */

/** Lower case without combining marks (NFD, then strip U+0300–U+036F): "José Ñúñez" → "jose nunez". */
export function normalizeText(value: string): string {
  return value.normalize('NFD').replace(/[\u0300-\u036f]/g, '').toLowerCase().trim();
}

/** Escapes LIKE wildcards so a search value only ever matches literally. */
export function escapeLike(value: string): string {
  return value.replace(/[\\%_]/g, (c) => `\\${c}`);
}
