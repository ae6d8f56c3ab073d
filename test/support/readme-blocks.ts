/**
 * The README's shell blocks as test/api/readme.test.ts runs them: extracted
 * in order (```sh, or ```sh no-test to skip), split into commands, and each
 * command ending in `# → NNN` wrapped so that the block fails unless the
 * first line of its output contains NNN.
 */
export interface Block {
  line: number;
  code: string;
  skip: boolean;
}

/** The README's sh blocks with their first line number (1-based, for messages). */
export function shellBlocks(text: string): Block[] {
  const blocks: Block[] = [];
  const fence = /^```sh( no-test)?[ \t]*\n([\s\S]*?)^```[ \t]*$/gm;
  for (const m of text.matchAll(fence)) {
    blocks.push({ line: text.slice(0, m.index).split('\n').length, code: m[2] ?? '', skip: Boolean(m[1]) });
  }
  return blocks;
}

/**
 * The block's commands, one per element: lines joined while a backslash
 * continues them or a quoted string is still open (bash's rules for ' and ",
 * comments skipped), so that a `# → NNN` after a multi-line command belongs to
 * all of it.
 */
export function logicalLines(code: string): string[] {
  const out: string[] = [];
  let pending = '';
  let quote: "'" | '"' | undefined;
  for (const line of code.split('\n')) {
    let continued = false;
    for (let i = 0; i < line.length; i++) {
      const c = line[i];
      if (quote === "'") {
        if (c === "'") quote = undefined;
      } else if (c === '\\') {
        if (i === line.length - 1) continued = quote === undefined;
        i++;
      } else if (quote === '"') {
        if (c === '"') quote = undefined;
      } else if (c === "'" || c === '"') {
        quote = c;
      } else if (c === '#' && (i === 0 || /\s/.test(line[i - 1] ?? ''))) {
        break; // a comment: its apostrophes are not quotes
      }
    }
    pending += line;
    if (quote !== undefined || continued) {
      pending += '\n';
      continue;
    }
    out.push(pending);
    pending = '';
  }
  if (pending) out.push(pending);
  return out;
}

const expectation = /\s+#\s*→\s*(\d{3})\b[^'"]*$/;

/** The block as bash runs it: each `# → NNN` command checked. */
export function instrument(code: string, baseUrl: string): string {
  return logicalLines(code.replaceAll('http://127.0.0.1:8080', baseUrl))
    .map((line, i) => {
      const m = expectation.exec(line);
      if (!m) return line;
      const command = line.slice(0, m.index);
      const want = m[1];
      return [
        `__out=$(${command})`,
        `printf '%s\\n' "$__out"`,
        `case "$(printf '%s\\n' "$__out" | head -1)" in *${want}*) ;; *) echo "README check ${i + 1}: expected ${want}, got: $(printf '%s' "$__out" | head -1)" >&2; exit 1;; esac`,
      ].join('\n');
    })
    .join('\n');
}
