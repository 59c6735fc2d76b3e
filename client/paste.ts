/**
 * Paste at terminal speed. node:readline handles input a key at a time, and
 * each printed character measures the whole line again (its display width,
 * to know whether the cursor wrapped): a 1,990-character paste cost
 * O(n^2) work, 1.9-2.1 s here (issue 11). A chunk of input that is only text
 * and line ends, as a paste is, can be inserted in one step instead; this
 * module says which chunks are such, and splits them. Anything else (escape
 * sequences, control keys, a single key press) is left to readline.
 */

/** One piece of a pasted chunk: text to insert, then a key for readline (Enter or Tab), if any. */
export interface PastePart {
  text: string;
  key?: "\r" | "\t";
}

// C0 controls but tab, CR and LF; ESC starts every escape sequence; DEL.
// deno-lint-ignore no-control-regex
const NEEDS_READLINE = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/;

/**
 * The parts of `chunk` when it is pasted text; null when readline must see
 * it key by key. A line end is Enter; a tab stays a key (completion), so
 * `@b` and Tab arriving together still complete.
 */
export function pasteParts(chunk: string): PastePart[] | null {
  if (chunk.length < 2 || NEEDS_READLINE.test(chunk)) return null;
  const parts: PastePart[] = [];
  for (const piece of chunk.split(/(\r\n|\r|\n|\t)/)) {
    if (piece === "\t") parts.push({ text: "", key: "\t" });
    else if (/^[\r\n]/.test(piece)) parts.push({ text: "", key: "\r" });
    else if (piece !== "") parts.push({ text: piece });
  }
  // Text then its key in one part.
  const merged: PastePart[] = [];
  for (const part of parts) {
    const last = merged[merged.length - 1];
    if (part.text === "" && last !== undefined && last.key === undefined) last.key = part.key;
    else merged.push(part);
  }
  return merged;
}
