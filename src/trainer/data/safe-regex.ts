// A user's label pattern runs on V8's backtracking engine, where a pattern like (a+)+$ takes
// exponential time on some file names: matching runs inside a vm context with a time budget, so
// a catastrophic pattern ends with an error naming it instead of freezing the CLI or the trainer
// child (the extension's live preview sends a pattern on every keystroke).
import * as vm from 'vm';
import { DataError } from './errors';

/** Budget for one batch of matches (a whole dataset's file names, or one name). */
export const LABEL_MATCH_BUDGET_MS = 2000;

export interface LabelMatch {
  /** The first group's text, undefined when the group did not take part. */
  label: string | undefined;
  /** The first group's [start, end) in the input, when it matched. */
  span: [number, number] | undefined;
}

const context = vm.createContext(Object.create(null));
const script = new vm.Script(`(() => {
  const re = new RegExp(source, flags.includes('d') ? flags : flags + 'd');
  const out = [];
  for (let i = 0; i < inputs.length; i++) {
    const m = re.exec(inputs[i]);
    out.push(m ? [m[1], m.indices && m.indices[1] ? m.indices[1][0] : -1, m.indices && m.indices[1] ? m.indices[1][1] : -1] : null);
  }
  return JSON.stringify(out);
})()`);

/** re.exec(input) for every input, with its first group and that group's span; throws DataError past the budget. */
export function matchLabels(re: RegExp, inputs: readonly string[], budgetMs = LABEL_MATCH_BUDGET_MS): (LabelMatch | null)[] {
  context.source = re.source;
  context.flags = re.flags.replace(/[gy]/g, '');
  context.inputs = inputs;
  let json: string;
  try {
    json = script.runInContext(context, { timeout: budgetMs }) as string;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ERR_SCRIPT_EXECUTION_TIMEOUT') {
      throw new DataError(`The label pattern ${re} took more than ${budgetMs / 1000} s to match ${inputs.length === 1 ? `'${inputs[0]}'` : `${inputs.length} file names`} (catastrophic backtracking)`, {
        fix: 'simplify the pattern: avoid nested or overlapping repetition such as (a+)+, (.*)*, (\\w|\\d)+; e.g. /([^/]+)_\\d+\\.jpg$/',
      });
    }
    throw err;
  } finally {
    context.inputs = undefined;
  }
  const rows = JSON.parse(json) as ([string | null, number, number] | null)[];
  return rows.map((r) => (r === null ? null : { label: r[0] ?? undefined, span: r[1] >= 0 ? [r[1], r[2]] : undefined }));
}

/** One input: the match, or null. */
export function matchLabel(re: RegExp, input: string, budgetMs = LABEL_MATCH_BUDGET_MS): LabelMatch | null {
  return matchLabels(re, [input], budgetMs)[0];
}
