// Number prompts of the palette commands, and the same checks for values passed as arguments (a
// tree node, another command), so both are refused in the user's words before the trainer sees them.
import * as vscode from 'vscode';

/** A validateInput: undefined when the text is fine, else what to enter. */
export type NumberCheck = (text: string) => string | undefined;

export const wholeIn = (lo: number, hi: number): NumberCheck => (t) =>
  /^\s*\d+\s*$/.test(t) && Number(t) >= lo && Number(t) <= hi ? undefined : `enter a whole number from ${lo} to ${hi}`;

export const positiveNumber: NumberCheck = (t) =>
  t.trim() !== '' && Number.isFinite(Number(t)) && Number(t) > 0 ? undefined : 'enter a positive number, e.g. 2e-3';

/** Throws, naming the value, when an argument fails the prompt's check; absent is fine. */
export function checkArg(what: string, v: unknown, check: NumberCheck): void {
  const problem = v === undefined ? undefined : check(typeof v === 'number' ? String(v) : '');
  if (problem) throw new Error(`${what} must be ${problem.replace(/^enter /, '')}, got ${JSON.stringify(v)}`);
}

/** The input box of one command's numbers; it resolves undefined when the user pressed Escape. */
export function numberPrompt(command: string) {
  return async (title: string, value: string, prompt: string, validateInput: NumberCheck): Promise<number | undefined> => {
    const v = await vscode.window.showInputBox({ title: `Image Trainer: ${command} — ${title}`, value, prompt, validateInput, ignoreFocusOut: true });
    return v === undefined ? undefined : Number(v);
  };
}
