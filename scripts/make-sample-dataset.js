#!/usr/bin/env node
// Writes samples/fashion-mnist/: 200 images per class from the Fashion-MNIST t10k set (Debian
// package dataset-fashion-mnist) as `{class}_{n}.png`, the layout `npm run demo` trains on.
// Usage: node scripts/make-sample-dataset.js [outDir] [perClass]   (after `npm run build`)
const fs = require('fs');
const path = require('path');

const root = path.resolve(__dirname, '..');
const outDir = path.resolve(process.argv[2] || path.join(root, 'samples', 'fashion-mnist'));
const perClass = Number(process.argv[3] || 200);

let helper;
for (const dir of ['out', ...fs.readdirSync(root).filter((d) => d.startsWith('out-'))]) {
  const p = path.join(root, dir, 'test', 'helpers', 'fashion-mnist.js');
  if (fs.existsSync(p)) { helper = require(p); break; }
}
if (!helper) {
  console.error('Build first: npm run build (this script uses test/helpers/fashion-mnist.ts compiled to out/)');
  process.exit(1);
}

(async () => {
  for (const f of fs.existsSync(outDir) ? fs.readdirSync(outDir) : []) if (f.endsWith('.png')) fs.unlinkSync(path.join(outDir, f));
  const ex = await helper.exportFashionMnist(outDir, { perClass, set: 't10k' });
  fs.writeFileSync(path.join(outDir, 'LICENSE'), LICENSE);
  console.log(`wrote ${ex.files.length} images in ${ex.classes.length} classes to ${outDir}`);
})().catch((e) => { console.error(e.message); process.exit(1); });

const LICENSE = `These images are a subset of Fashion-MNIST (the first ${perClass} images of each class of the
t10k test set), written as PNG files named {class}_{n}.png by scripts/make-sample-dataset.js.

Fashion-MNIST: Copyright (c) 2017 Zalando SE (Zalando Research), https://github.com/zalandoresearch/fashion-mnist
Source used: the Debian package dataset-fashion-mnist (/usr/share/datasets/fashion-mnist/t10k-*.gz).
Reference: Han Xiao, Kashif Rasul, Roland Vollgraf. Fashion-MNIST: a Novel Image Dataset for
Benchmarking Machine Learning Algorithms. arXiv:1708.07747, 2017.

The MIT License (MIT)

Copyright (c) 2017 Zalando SE, https://tech.zalando.com

Permission is hereby granted, free of charge, to any person obtaining a copy of this software
and associated documentation files (the "Software"), to deal in the Software without
restriction, including without limitation the rights to use, copy, modify, merge, publish,
distribute, sublicense, and/or sell copies of the Software, and to permit persons to whom the
Software is furnished to do so, subject to the following conditions:

The above copyright notice and this permission notice shall be included in all copies or
substantial portions of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR IMPLIED, INCLUDING
BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY, FITNESS FOR A PARTICULAR PURPOSE AND
NONINFRINGEMENT. IN NO EVENT SHALL THE AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM,
DAMAGES OR OTHER LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,
OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE SOFTWARE.
`;
