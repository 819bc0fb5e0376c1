// The one escaping helper for untrusted text (file names, class names, error messages that quote
// them) on its way to a terminal: a name could otherwise carry ESC sequences that set the
// terminal title, move the cursor or recolour output, a CR or newline that fakes an
// "image-trainer: error:" line, or bidi overrides that reorder what is shown. JSON output needs
// none of this: JSON.stringify already escapes control characters.

// C0 controls (except tab), DEL, C1 controls, bidi embeddings/overrides/isolates, line/paragraph separators.
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const UNSAFE = /[\u0000-\u0008\u000a-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;
// eslint-disable-next-line no-control-regex -- as above
const UNSAFE_KEEP_NEWLINE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

function code(ch: string): string {
  const c = ch.charCodeAt(0);
  if (ch === '\n') return '\\n';
  if (ch === '\r') return '\\r';
  return c <= 0xff ? `\\x${c.toString(16).padStart(2, '0')}` : `\\u${c.toString(16).padStart(4, '0')}`;
}

/** Untrusted text as one visible line: every control character (newlines too) as a \xNN / \n escape. */
export function escapeTerminal(text: string): string {
  return text.replace(UNSAFE, code);
}

/** The same for text the CLI itself laid out over several lines: newlines stay, everything else is escaped. */
export function escapeTerminalLines(text: string): string {
  return text.replace(UNSAFE_KEEP_NEWLINE, code);
}

/** A writable that escapes what passes through it (for text reports written straight to stdout). */
export function escapingWriter(out: { write(s: string): unknown }): { write(s: string): boolean } {
  return { write: (s: string) => Boolean(out.write(escapeTerminalLines(s))) };
}
