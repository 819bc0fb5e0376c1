// A self-contained HTML report (inline CSS, images as data: URIs, no scripts) plus
// interpretation.json, written atomically into an output folder a person can open or archive.
import * as path from 'path';
import { openImage } from '../data/decode';
import type { ClassificationInterpretation } from './interpretation';
import { InterpretError } from './errors';
import { writeFileAtomic } from '../io/atomic-write';
import { makeFolders } from '../io/make-folders';
import { gradCamForFile, type GradCamSource } from './gradcam';
import { gradCamEmptyReason, type InterpretationSummary } from '../../protocol/interpretation';
import { summarizeInterpretation, topLossTitle } from './summary';

export interface ReportImages {
  /** file → image bytes (PNG/JPEG/WebP) for the top-losses grid; default: made from the files; false: none. */
  thumbnails?: Map<string, Buffer> | false;
  /** file → Grad-CAM overlay PNG; preferred over the thumbnail when present. */
  heatmaps?: Map<string, Buffer>;
  /** Compute Grad-CAM overlays for the top losses with this model (when `heatmaps` is not given). */
  heatmapsFrom?: GradCamSource;
  /** file → a short note shown under its image (e.g. why it has no heatmap). */
  notes?: Map<string, string>;
}

export interface ReportOptions extends ReportImages {
  /** Top losses to show (default 9, as plot_top_losses(9)). */
  k?: number;
  /** Validation images in the show_results grid (default 9, as learn.show_results(max_n=9)). */
  results?: number;
  title?: string;
}

export interface ReportPaths {
  jsonPath: string;
  htmlPath: string;
  summary: InterpretationSummary;
  /** Files whose preview or heatmap could not be made (the report shows them without). */
  warnings: string[];
}

/** Writes OUT/interpretation.json and OUT/report.html; returns the report's path. */
export async function writeReport(outDir: string, interp: ClassificationInterpretation, opts: ReportOptions = {}): Promise<string> {
  return (await writeReportFiles(outDir, interp, opts)).htmlPath;
}

export async function writeReportFiles(outDir: string, interp: ClassificationInterpretation, opts: ReportOptions = {}): Promise<ReportPaths> {
  const summary = summarizeInterpretation(interp, { k: opts.k ?? 9 });
  const tops = summary.topLosses.map((t) => t.file);
  const shown = showResultItems(summary, opts.results).map((t) => t.file);
  const { thumbnails, heatmaps, notes, warnings } = await collectImages([...new Set([...tops, ...shown])], tops, opts);
  const html = renderReportHtml(summary, { ...opts, thumbnails, heatmaps, notes });
  const dir = path.resolve(outDir);
  try {
    await makeFolders(dir);
  } catch (err) {
    throw new InterpretError(`Cannot create the report folder: ${(err as Error).message}`, { file: dir, fix: 'pass an --out folder you can write to' });
  }
  const jsonPath = path.join(dir, 'interpretation.json');
  const htmlPath = path.join(dir, 'report.html');
  await writeAtomic(jsonPath, JSON.stringify(summary, null, 2) + '\n');
  await writeAtomic(htmlPath, html);
  return { jsonPath, htmlPath, summary, warnings };
}

interface CollectedImages {
  thumbnails: Map<string, Buffer>;
  heatmaps: Map<string, Buffer>;
  /** file → why it has no heatmap, shown under the image. */
  notes: Map<string, string>;
  warnings: string[];
}

/** Thumbnails for `files`, Grad-CAM overlays for those of them in `heatmapFiles` (the top losses). */
async function collectImages(files: string[], heatmapFiles: string[], opts: ReportImages): Promise<CollectedImages> {
  const wantsHeatmap = new Set(heatmapFiles);
  const warnings: string[] = [];
  const notes = new Map<string, string>(opts.notes ?? []);
  const thumbnails = opts.thumbnails instanceof Map ? opts.thumbnails : new Map<string, Buffer>();
  const heatmaps = opts.heatmaps ?? new Map<string, Buffer>();
  for (const file of files) {
    if (opts.thumbnails === undefined && !thumbnails.has(file)) {
      try {
        thumbnails.set(file, await makeThumbnail(file));
      } catch (err) {
        warnings.push(`${file}: no preview (${(err as Error).message})`);
        continue;
      }
    }
    if (!opts.heatmaps && opts.heatmapsFrom && wantsHeatmap.has(file) && !heatmaps.has(file)) {
      try {
        const cam = await gradCamForFile(opts.heatmapsFrom, file, { outSize: 224 });
        // A map with no "where": show the plain image and say why, rather than a flat wash of colour.
        const empty = gradCamEmptyReason(cam);
        if (empty) notes.set(file, `no heatmap: ${empty}`);
        else heatmaps.set(file, cam.png);
      } catch (err) {
        warnings.push(`${file}: no heatmap (${(err as Error).message})`);
      }
    }
  }
  return { thumbnails, heatmaps, notes, warnings };
}

/** A small JPEG of an image as the model saw it (centre square), for the report grid. */
export async function makeThumbnail(file: string, size = 192): Promise<Buffer> {
  return (await openImage(file)).rotate().resize(size, size, { fit: 'cover', position: 'centre' }).jpeg({ quality: 82 }).toBuffer();
}

async function writeAtomic(file: string, data: string): Promise<void> {
  try {
    await writeFileAtomic(file, data);
  } catch (err) {
    throw new InterpretError(`Cannot write ${path.basename(file)}: ${(err as Error).message}`, { file, fix: 'pass an --out folder you can write to (and check free disk space)' });
  }
}

function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string);
}

function dataUri(buf: Buffer): string {
  const mime = buf[0] === 0x89 ? 'image/png' : buf[0] === 0xff ? 'image/jpeg' : buf.subarray(8, 12).toString() === 'WEBP' ? 'image/webp' : 'image/png';
  return `data:${mime};base64,${buf.toString('base64')}`;
}

const fmt = (v: number | null, digits = 3) => (v === null ? '—' : v.toFixed(digits));
const pct = (v: number | null) => (v === null ? '—' : `${(v * 100).toFixed(2)}%`);

export function renderReportHtml(s: InterpretationSummary, opts: ReportOptions = {}): string {
  const title = opts.title ?? 'Interpretation report';
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<title>${esc(title)}</title>
<style>${CSS}</style>
</head>
<body>
<header>
  <h1>${esc(title)}</h1>
  <p class="stats">
    <span><b>${s.n}</b> validation images</span>
    <span>accuracy <b id="accuracy">${pct(s.accuracy)}</b></span>
    <span>error rate <b id="error-rate">${pct(s.errorRate)}</b></span>
    <span>${s.classes.length} classes</span>
  </p>
</header>
<main>
${confusionSection(s)}
${mostConfusedSection(s)}
${topLossesSection(s, opts)}
${showResultsSection(s, opts)}
${reportSection(s)}
</main>
<footer>Generated ${esc(s.createdAt)} · numbers in interpretation.json</footer>
</body>
</html>
`;
}

function confusionSection(s: InterpretationSummary): string {
  const head = s.classes.map((c) => `<th scope="col" class="col"><span>${esc(c)}</span></th>`).join('');
  const rows = s.classes
    .map((actual, a) => {
      const cells = s.classes
        .map((predicted, p) => {
          const count = s.confusionMatrix[a][p];
          const rate = s.confusionMatrixNormalized[a][p];
          const shade = rate === null ? 0 : rate;
          const cls = ['cell', a === p ? 'diag' : 'off', shade > 0.5 ? 'strong' : ''].filter(Boolean).join(' ');
          const tip = `actual ${actual}, predicted ${predicted}: ${count}${rate === null ? '' : ` (${(rate * 100).toFixed(1)}% of ${actual})`}`;
          return `<td class="${cls}" style="--v:${shade.toFixed(3)}" data-actual="${esc(actual)}" data-predicted="${esc(predicted)}" data-count="${count}" title="${esc(tip)}">${count}</td>`;
        })
        .join('');
      return `<tr><th scope="row">${esc(actual)}</th>${cells}</tr>`;
    })
    .join('\n');
  return `<section id="confusion">
  <h2>Confusion matrix</h2>
  <p class="hint">Rows: actual class · columns: predicted class · shade: share of the row (blue: correct, red: confused).</p>
  <div class="scroll"><table class="matrix">
    <thead><tr><th class="corner">actual \\ predicted</th>${head}</tr></thead>
    <tbody>
${rows}
    </tbody>
  </table></div>
</section>`;
}

function mostConfusedSection(s: InterpretationSummary): string {
  const items = s.mostConfused
    .slice(0, 30)
    .map((p) => `<li><span class="actual">${esc(p.actual)}</span> → <span class="pred">${esc(p.predicted)}</span> <b>${p.count}</b></li>`)
    .join('\n');
  const more = s.mostConfused.length > 30 ? `<p class="hint">…and ${s.mostConfused.length - 30} more in interpretation.json</p>` : '';
  return `<section id="most-confused">
  <h2>Most confused</h2>
  <p class="hint">actual → predicted, count (off-diagonal cells, largest first)</p>
  ${items ? `<ol class="pairs">${items}</ol>${more}` : '<p>No confusions: every validation image was classified correctly.</p>'}
</section>`;
}

function topLossesSection(s: InterpretationSummary, opts: { thumbnails?: Map<string, Buffer> | false; heatmaps?: Map<string, Buffer>; notes?: Map<string, string> }): string {
  const cards = s.topLosses
    .map((t) => {
      const heat = opts.heatmaps?.get(t.file);
      const thumb = opts.thumbnails ? opts.thumbnails.get(t.file) : undefined;
      const img = heat ?? thumb;
      const pic = img
        ? `<img src="${dataUri(img)}" alt="${esc(path.basename(t.file))}${heat ? ' with Grad-CAM heatmap' : ''}">`
        : `<div class="noimg">no preview</div>`;
      return `<figure class="loss${t.predicted === t.actual ? '' : ' wrong'}">
  ${pic}
  <figcaption><span class="title">${esc(topLossTitle(t))}</span><span class="file" title="${esc(t.file)}">${esc(path.basename(t.file))}</span>${opts.notes?.has(t.file) ? `<span class="note">${esc(opts.notes.get(t.file) as string)}</span>` : ''}</figcaption>
</figure>`;
    })
    .join('\n');
  const heat = opts.heatmaps && opts.heatmaps.size > 0;
  return `<section id="top-losses">
  <h2>Top losses</h2>
  <p class="hint">Title: predicted/actual / loss / probability of the actual class${heat ? ' · overlay: Grad-CAM for the predicted class (bright = most influential)' : ''}</p>
  <div class="grid">${cards || '<p>No validation images.</p>'}</div>
</section>`;
}

/** fastai's show_results: the first validation items, captioned actual/predicted as the panel does. */
function showResultItems(s: InterpretationSummary, n = 9): InterpretationSummary['items'] {
  return s.items.slice(0, Math.max(0, n));
}

function showResultsSection(s: InterpretationSummary, opts: { results?: number; thumbnails?: Map<string, Buffer> | false }): string {
  const cards = showResultItems(s, opts.results)
    .map((t) => {
      const right = t.actual === t.predicted;
      const thumb = opts.thumbnails ? opts.thumbnails.get(t.file) : undefined;
      const pic = thumb ? `<img src="${dataUri(thumb)}" alt="${esc(path.basename(t.file))}">` : `<div class="noimg">no preview</div>`;
      return `<figure class="result ${right ? 'right' : 'wrong'}" data-actual="${esc(t.actual)}" data-predicted="${esc(t.predicted)}">
  ${pic}
  <figcaption><span class="title">${esc(t.actual)}/${esc(t.predicted)}</span><span class="file" title="${esc(t.file)}">${esc(path.basename(t.file))}</span></figcaption>
</figure>`;
    })
    .join('\n');
  return `<section id="show-results">
  <h2>show_results</h2>
  <p class="hint legend">Each title: actual / predicted; <span class="right">green</span> when right, <span class="wrong">red</span> when wrong.</p>
  <div class="grid">${cards || '<p>No validation images.</p>'}</div>
</section>`;
}

/** sklearn's classification_report as a table (fastai's print_classification_report). */
function reportSection(s: InterpretationSummary): string {
  const r = s.report;
  const row = (name: string, m: { precision: number; recall: number; f1: number; support: number }, cls = '') =>
    `<tr${cls ? ` class="${cls}"` : ''}><th scope="row">${esc(name)}</th><td>${fmt(m.precision, 2)}</td><td>${fmt(m.recall, 2)}</td><td>${fmt(m.f1, 2)}</td><td>${m.support}</td></tr>`;
  return `<section id="classification-report">
  <h2>Classification report</h2>
  <table class="metrics">
    <thead><tr><th>class</th><th>precision</th><th>recall</th><th>f1-score</th><th>support</th></tr></thead>
    <tbody>
${r.classes.map((c) => row(c.name, c)).join('\n')}
    </tbody>
    <tfoot>
<tr class="accuracy"><th scope="row">accuracy</th><td></td><td></td><td>${fmt(r.accuracy, 2)}</td><td>${r.support}</td></tr>
${row('macro avg', r.macroAvg, 'macro')}
${row('weighted avg', r.weightedAvg, 'weighted')}
    </tfoot>
  </table>
  <p class="hint">As sklearn's classification_report: 0 where a ratio has nothing to divide by (no images of a class, or none predicted as it).</p>
</section>`;
}

const CSS = `
:root { --bg:#ffffff; --fg:#1f2328; --muted:#59636e; --line:#d1d9e0; --card:#f6f8fa; --cell:37,99,235; --miss:207,34,46; --bad:#cf222e; --ok:#1a7f37; }
@media (prefers-color-scheme: dark) {
  :root { --bg:#0d1117; --fg:#e6edf3; --muted:#9198a1; --line:#3d444d; --card:#161b22; --cell:88,166,255; --miss:255,123,114; --bad:#ff7b72; --ok:#3fb950; }
}
* { box-sizing: border-box; }
body { margin:0; padding:24px 32px; background:var(--bg); color:var(--fg); font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif; }
h1 { font-size:22px; margin:0 0 6px; } h2 { font-size:17px; margin:28px 0 6px; }
.stats span { margin-right:18px; color:var(--muted); } .stats b { color:var(--fg); }
.hint { color:var(--muted); margin:0 0 10px; font-size:12.5px; }
.scroll { overflow:auto; max-width:100%; }
table { border-collapse:collapse; }
.matrix th, .matrix td { border:1px solid var(--line); padding:4px 7px; text-align:center; min-width:34px; font-variant-numeric:tabular-nums; }
.matrix thead th.col { vertical-align:bottom; height:auto; }
.matrix thead th.col span { writing-mode:vertical-rl; transform:rotate(180deg); white-space:nowrap; }
.matrix tbody th { text-align:right; white-space:nowrap; }
.matrix .corner { font-weight:normal; color:var(--muted); font-size:12px; }
.matrix td.cell { background:rgba(var(--cell), calc(var(--v) * 0.9)); }
.matrix td.strong { color:#fff; font-weight:600; }
.matrix td.off[data-count="0"] { color:var(--muted); }
.matrix td.off:not([data-count="0"]) { background:rgba(var(--miss), calc(0.14 + var(--v) * 0.8)); font-weight:600; }
.pairs { padding-left:22px; margin:0; } .pairs li { margin:2px 0; }
.pairs .actual { color:var(--ok); } .pairs .pred { color:var(--bad); }
.grid { display:grid; grid-template-columns:repeat(auto-fill,minmax(200px,1fr)); gap:14px; }
figure.loss { margin:0; background:var(--card); border:1px solid var(--line); border-radius:6px; overflow:hidden; }
figure.loss img, .noimg { display:block; width:100%; aspect-ratio:1; object-fit:cover; }
.noimg { display:flex; align-items:center; justify-content:center; color:var(--muted); }
figcaption { padding:6px 8px; display:flex; flex-direction:column; gap:2px; }
figcaption .title { font-weight:600; font-variant-numeric:tabular-nums; }
figure.wrong figcaption .title, .legend .wrong { color:var(--bad); }
figure.result.right figcaption .title, .legend .right { color:var(--ok); }
figure.result { margin:0; background:var(--card); border:1px solid var(--line); border-radius:6px; overflow:hidden; }
figure.result img { display:block; width:100%; aspect-ratio:1; object-fit:cover; }
figcaption .note { color:var(--muted); font-size:11.5px; font-style:italic; }
figcaption .file { color:var(--muted); font-size:12px; overflow:hidden; text-overflow:ellipsis; white-space:nowrap; }
.metrics th, .metrics td { border-bottom:1px solid var(--line); padding:4px 12px; text-align:right; font-variant-numeric:tabular-nums; }
.metrics th:first-child { text-align:left; } .metrics tfoot th, .metrics tfoot td { font-weight:600; border-bottom:none; }
footer { margin-top:32px; color:var(--muted); font-size:12px; }
`;
