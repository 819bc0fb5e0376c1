// `image-trainer export --model RUN_DIR --format onnx|tfjs|native [--out DIR]`.
import * as path from 'path';
import type { ExportFormat } from '../../protocol/export';
import { parts } from '../service/parts';
import { escapeTerminal } from './escape';
import { writeCliError } from './error-line';

export interface ExportFlags {
  model: string;
  format: ExportFormat;
  out?: string;
  backend?: string;
  json?: boolean;
  verbose?: boolean;
}

export async function runExport(flags: ExportFlags): Promise<number> {
  try {
    if (flags.out !== undefined) await parts.exporter().checkExportTarget(flags.out);
    await parts.backend().selectBackend(flags.backend !== undefined ? { prefer: flags.backend } : {});
    const started = Date.now();
    const r = await parts.exporter().exportRun(path.resolve(flags.model), { format: flags.format, ...(flags.out !== undefined ? { out: path.resolve(flags.out) } : {}) });
    const seconds = (Date.now() - started) / 1000;
    if (flags.json) process.stdout.write(JSON.stringify({ type: 'export', ...r, seconds }) + '\n');
    else process.stdout.write(`exported ${r.format}: ${escapeTerminal(r.dir)} (${r.files.map(escapeTerminal).join(', ')}) in ${seconds.toFixed(1)} s\n`);
    return 0;
  } catch (err) {
    writeCliError(err, flags.verbose);
    return 1;
  }
}
