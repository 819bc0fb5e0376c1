import { test, describe, before, after } from 'node:test';
import * as assert from 'node:assert/strict';
import * as path from 'path';
import { decodeCenterCrop, decodeShortSide, renderItem, sampleAugment, DEFAULT_TRANSFORMS, type AugmentParams } from '../../src/trainer/data';
import { outputToSource, warpHomography, homographyFromPoints, lightingTable, NO_AUGMENT } from '../../src/trainer/data/augment';
import { remapBilinear, cropRgb } from '../../src/trainer/data/remap';
import {
  makeTempDir, removeDir, writeJpeg, writePngWithAlpha, writeGrayscalePng, writeCmykJpeg, write16BitPng,
  writeExifRotatedJpeg, writeTruncatedJpeg, writeGarbageImage, writeBmp, writeSolid, rgbPixels,
} from '../helpers/images';

const px = (data: Uint8Array, width: number, x: number, y: number) => Array.from(data.subarray((y * width + x) * 3, (y * width + x) * 3 + 3));
const near = (a: number[], b: number[], tol: number) => a.every((v, i) => Math.abs(v - b[i]) <= tol);

describe('decoding real files to 8-bit sRGB', () => {
  let dir: string;
  before(async () => {
    dir = await makeTempDir();
  });
  after(() => removeDir(dir));

  test('JPEG: short side resized, centre crop square', async () => {
    const f = await writeJpeg(path.join(dir, 'a.jpg'), 80, 40);
    const short = await decodeShortSide(f, 20);
    assert.deepEqual([short.width, short.height, short.data.length], [40, 20, 40 * 20 * 3]);
    const crop = await decodeCenterCrop(f, 20);
    assert.deepEqual([crop.width, crop.height, crop.data.length], [20, 20, 20 * 20 * 3]);
  });

  test('WebP, GIF, TIFF and AVIF decode to the same colour', async () => {
    for (const ext of ['webp', 'gif', 'tif', 'tiff', 'avif']) {
      const f = await writeSolid(path.join(dir, `solid.${ext}`), [0, 0, 255]);
      const img = await decodeShortSide(f, 5);
      assert.deepEqual([img.width, img.height], [10, 5], ext);
      assert.ok(near(px(img.data, 10, 5, 2), [0, 0, 255], 12), `${ext}: ${px(img.data, 10, 5, 2)}`);
    }
  });

  test('PNG with alpha is flattened onto white', async () => {
    const f = await writePngWithAlpha(path.join(dir, 'alpha.png'), 32, 32, [255, 0, 0]);
    const img = await decodeCenterCrop(f, 32);
    assert.ok(near(px(img.data, 32, 2, 16), [255, 255, 255], 2), `transparent → white, got ${px(img.data, 32, 2, 16)}`);
    assert.ok(near(px(img.data, 32, 29, 16), [255, 0, 0], 2));
  });

  test('grayscale becomes three equal channels', async () => {
    const f = await writeGrayscalePng(path.join(dir, 'gray.png'), 32, 32);
    const img = await decodeCenterCrop(f, 32);
    for (const x of [0, 15, 31]) {
      const [r, g, b] = px(img.data, 32, x, 5);
      assert.ok(r === g && g === b, `gray pixel ${[r, g, b]}`);
    }
    assert.ok(px(img.data, 32, 31, 5)[0] > px(img.data, 32, 0, 5)[0] + 200, 'ramp kept');
  });

  test('CMYK JPEG is converted to RGB (blue stays blue)', async () => {
    const f = await writeCmykJpeg(path.join(dir, 'cmyk.jpg'), 32, 32, [0, 0, 255]);
    const img = await decodeCenterCrop(f, 16);
    assert.equal(img.data.length, 16 * 16 * 3);
    const [r, g, b] = px(img.data, 16, 8, 8);
    assert.ok(b > r + 60 && b > g + 60, `blue dominant, got ${[r, g, b]}`);
  });

  test('16-bit PNG becomes 8-bit with the same colour', async () => {
    const f = await write16BitPng(path.join(dir, 'deep.png'), 32, 32, [0, 255, 0]);
    const img = await decodeCenterCrop(f, 16);
    assert.ok(near(px(img.data, 16, 8, 8), [0, 255, 0], 1), `got ${px(img.data, 16, 8, 8)}`);
  });

  test('EXIF orientation 6 is applied: landscape file decodes portrait, red on top', async () => {
    const f = await writeExifRotatedJpeg(path.join(dir, 'exif.jpg'), 48, 24);
    const img = await decodeShortSide(f, 24);
    assert.deepEqual([img.width, img.height], [24, 48]);
    const top = px(img.data, 24, 12, 2);
    const bottom = px(img.data, 24, 12, 45);
    assert.ok(top[0] > 200 && top[2] < 60, `top red, got ${top}`);
    assert.ok(bottom[2] > 200 && bottom[0] < 60, `bottom blue, got ${bottom}`);
  });

  test('BMP (which libvips cannot read) is decoded, rows the right way up', async () => {
    const f = await writeBmp(path.join(dir, 'paint.bmp'), 6, 4);
    const img = await decodeShortSide(f, 4);
    assert.deepEqual([img.width, img.height], [6, 4]);
    assert.deepEqual(px(img.data, 6, 2, 0), [255, 0, 0]);
    assert.deepEqual(px(img.data, 6, 2, 3), [0, 0, 255]);
    await assert.rejects(renderItem({ file: await writeGarbageImage(path.join(dir, 'junk.bmp')), size: 4, augment: null }), /BMP/);
  });

  test('truncated and garbage files reject with the decoder reason', async () => {
    const t = await writeTruncatedJpeg(path.join(dir, 'cut.jpg'));
    const g = await writeGarbageImage(path.join(dir, 'junk.jpg'));
    await assert.rejects(renderItem({ file: t, size: 16, augment: null }), /premature end|truncated/i);
    await assert.rejects(renderItem({ file: g, size: 16, augment: NO_AUGMENT }), /unsupported image format|Input file/i);
  });
});

describe('augmentation parameters', () => {
  test('seeded by (seed, epoch, index): same key same draw, other keys differ', () => {
    const a = sampleAugment(DEFAULT_TRANSFORMS, 42, 0, 5);
    assert.deepEqual(sampleAugment(DEFAULT_TRANSFORMS, 42, 0, 5), a);
    assert.notDeepEqual(sampleAugment(DEFAULT_TRANSFORMS, 43, 0, 5), a);
    assert.notDeepEqual(sampleAugment(DEFAULT_TRANSFORMS, 42, 1, 5), a);
    assert.notDeepEqual(sampleAugment(DEFAULT_TRANSFORMS, 42, 0, 6), a);
  });

  test('pinned: the same draw on every machine (seed 42, epoch 0, item 0)', () => {
    const p = sampleAugment(DEFAULT_TRANSFORMS, 42, 0, 0);
    assert.equal(p.flip, true);
    assert.equal(p.warp, null);
    assert.ok(Math.abs(p.rotate - 7.003038222696258) < 1e-12);
    assert.ok(Math.abs(p.cropRow - 0.6818264579989705) < 1e-15);
    assert.ok(Math.abs(p.zoom!.scale - 1.0178153310056972) < 1e-12);
    assert.ok(Math.abs(p.brightness - 0.4973662558509809) < 1e-12);
    assert.equal(p.contrast, 1);
  });

  test('ranges and probabilities match get_transforms() defaults', () => {
    const N = 4000;
    let flips = 0, rot = 0, zoom = 0, warp = 0, bright = 0, contrast = 0;
    for (let i = 0; i < N; i++) {
      const p = sampleAugment(DEFAULT_TRANSFORMS, 1, 0, i);
      if (p.flip) flips++;
      if (p.rotate !== 0) { rot++; assert.ok(Math.abs(p.rotate) <= 10); }
      if (p.zoom) { zoom++; assert.ok(p.zoom.scale >= 1 && p.zoom.scale <= 1.1); }
      if (p.warp) { warp++; assert.ok(p.warp.every((m) => Math.abs(m) <= 0.2)); }
      if (p.brightness !== 0.5) { bright++; assert.ok(p.brightness >= 0.4 && p.brightness <= 0.6); }
      if (p.contrast !== 1) { contrast++; assert.ok(p.contrast >= 0.8 && p.contrast <= 1.25); }
      assert.ok(p.cropRow >= 0 && p.cropRow < 1 && p.cropCol >= 0 && p.cropCol < 1);
    }
    const rate = (k: number) => k / N;
    assert.ok(Math.abs(rate(flips) - 0.5) < 0.04, `flip ${rate(flips)}`);
    for (const [name, k] of Object.entries({ rot, zoom, warp, bright, contrast })) assert.ok(Math.abs(rate(k) - 0.75) < 0.04, `${name} ${rate(k)}`);
  });

  test('each transform switches off without changing the others', () => {
    const on = sampleAugment(DEFAULT_TRANSFORMS, 42, 3, 9);
    const noFlip = sampleAugment({ ...DEFAULT_TRANSFORMS, doFlip: false, maxRotate: 0 }, 42, 3, 9);
    assert.equal(noFlip.flip, false);
    assert.equal(noFlip.rotate, 0);
    assert.deepEqual({ ...noFlip, flip: on.flip, rotate: on.rotate }, on);
    const none = sampleAugment({ ...DEFAULT_TRANSFORMS, doFlip: false, pAffine: 0, pLighting: 0 }, 42, 3, 9);
    assert.deepEqual({ ...none, cropRow: 0.5, cropCol: 0.5 }, NO_AUGMENT);
    const noLight = sampleAugment({ ...DEFAULT_TRANSFORMS, maxLighting: 0, maxWarp: 0, maxZoom: 1 }, 42, 3, 9);
    assert.deepEqual([noLight.brightness, noLight.contrast, noLight.warp, noLight.zoom], [0.5, 1, null, null]);
  });
});

describe('geometry and lighting', () => {
  const W = 40, H = 30, S = 24;
  const src = new Uint8Array(rgbPixels(W, H, 1));

  test('identity homography through remap equals the integer crop, flipped or not', () => {
    for (const flip of [false, true]) {
      const p: AugmentParams = { ...NO_AUGMENT, cropRow: 0.3, cropCol: 0.8, flip };
      const m = outputToSource(p, S, W, H);
      const ox = Math.round((W - S) * 0.8), oy = Math.round((H - S) * 0.3);
      assert.deepEqual(remapBilinear(src, W, H, m, S), cropRgb(src, W, ox, oy, S, flip));
    }
  });

  test('zero warp is the identity; a homography maps its four points', () => {
    const id = warpHomography([0, 0, 0, 0]);
    id.forEach((v, i) => assert.ok(Math.abs(v - [1, 0, 0, 0, 1, 0, 0, 0, 1][i]) < 1e-12));
    const from: [number, number][] = [[-1, -1], [-1, 1], [1, -1], [1, 1]];
    const to: [number, number][] = [[-1.1, -0.9], [-0.95, 1.2], [1.05, -1], [0.9, 1.1]];
    const h = homographyFromPoints(from, to);
    from.forEach(([x, y], i) => {
      const w = h[6] * x + h[7] * y + h[8];
      assert.ok(Math.abs((h[0] * x + h[1] * y + h[2]) / w - to[i][0]) < 1e-9);
      assert.ok(Math.abs((h[3] * x + h[4] * y + h[5]) / w - to[i][1]) < 1e-9);
    });
  });

  test('rotation keeps the centre and fills corners by reflection (no black)', () => {
    const flat = new Uint8Array(W * H * 3).fill(200);
    const out = remapBilinear(flat, W, H, outputToSource({ ...NO_AUGMENT, rotate: 10, zoom: null }, S, W, H), S);
    assert.ok(out.every((v) => v === 200));
  });

  test('lighting table: neutral is v/255, brightness brightens, contrast spreads', () => {
    const id = lightingTable(0.5, 1);
    for (let v = 0; v < 256; v += 51) assert.ok(Math.abs(id[v] - v / 255) < 1e-6);
    const bright = lightingTable(0.6, 1);
    assert.ok(bright[128] > id[128] + 0.05);
    const contrast = lightingTable(0.5, 1.25);
    assert.ok(contrast[200] > id[200] && contrast[55] < id[55]);
    assert.ok(Math.abs(contrast[128] - id[128]) < 0.01);
  });
});
