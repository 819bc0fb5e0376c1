/**
 * Bilinear resampling of an 8-bit RGB image through a homography, with reflection padding
 * (fastai's default padding_mode='reflection'). sharp's affine() cannot express the
 * perspective warp, and chaining sharp's affine with a separate warp would resample twice
 * (blurrier than fastai's single grid_sample), so the composed coordinate transform is applied
 * here in one pass over the size×size output only (~1 ms at 224 px).
 */
export function remapBilinear(
  src: Uint8Array,
  srcW: number,
  srcH: number,
  m: ArrayLike<number>,
  size: number,
  out: Uint8Array = new Uint8Array(size * size * 3),
): Uint8Array {
  const [m0, m1, m2, m3, m4, m5, m6, m7, m8] = Array.from(m);
  let o = 0;
  for (let v = 0; v < size; v++) {
    for (let u = 0; u < size; u++) {
      const w = m6 * u + m7 * v + m8;
      const x = reflect((m0 * u + m1 * v + m2) / w, srcW);
      const y = reflect((m3 * u + m4 * v + m5) / w, srcH);
      const x0 = Math.floor(x);
      const y0 = Math.floor(y);
      const x1 = x0 + 1 < srcW ? x0 + 1 : x0;
      const y1 = y0 + 1 < srcH ? y0 + 1 : y0;
      const fx = x - x0;
      const fy = y - y0;
      const w00 = (1 - fx) * (1 - fy);
      const w01 = fx * (1 - fy);
      const w10 = (1 - fx) * fy;
      const w11 = fx * fy;
      const i00 = (y0 * srcW + x0) * 3;
      const i01 = (y0 * srcW + x1) * 3;
      const i10 = (y1 * srcW + x0) * 3;
      const i11 = (y1 * srcW + x1) * 3;
      out[o] = src[i00] * w00 + src[i01] * w01 + src[i10] * w10 + src[i11] * w11 + 0.5;
      out[o + 1] = src[i00 + 1] * w00 + src[i01 + 1] * w01 + src[i10 + 1] * w10 + src[i11 + 1] * w11 + 0.5;
      out[o + 2] = src[i00 + 2] * w00 + src[i01 + 2] * w01 + src[i10 + 2] * w10 + src[i11 + 2] * w11 + 0.5;
      o += 3;
    }
  }
  return out;
}

/** Reflects a pixel coordinate into [0, n-1] about the image edges (at -0.5 and n-0.5). */
function reflect(c: number, n: number): number {
  if (c >= 0 && c <= n - 1) return c;
  const period = 2 * n;
  let t = (c + 0.5) % period;
  if (t < 0) t += period;
  if (t > n) t = period - t;
  t -= 0.5;
  return t < 0 ? 0 : t > n - 1 ? n - 1 : t;
}

/** Copy of the size×size window at (ox, oy), optionally mirrored left-right: the exact fast path. */
export function cropRgb(src: Uint8Array, srcW: number, ox: number, oy: number, size: number, flip: boolean, out: Uint8Array = new Uint8Array(size * size * 3)): Uint8Array {
  for (let v = 0; v < size; v++) {
    const row = ((oy + v) * srcW + ox) * 3;
    if (!flip) {
      out.set(src.subarray(row, row + size * 3), v * size * 3);
    } else {
      for (let u = 0; u < size; u++) {
        const s = row + (size - 1 - u) * 3;
        const d = (v * size + u) * 3;
        out[d] = src[s];
        out[d + 1] = src[s + 1];
        out[d + 2] = src[s + 2];
      }
    }
  }
  return out;
}

export type PadModeName = 'reflection' | 'zeros' | 'border';

/**
 * remapBilinear with fastai's three padding modes for samples outside the image: reflection (as
 * remapBilinear), border (the edge pixel repeated) or zeros (black, each bilinear tap separately,
 * as grid_sample's padding_mode='zeros').
 */
export function remapPadded(src: Uint8Array, srcW: number, srcH: number, m: ArrayLike<number>, size: number, padMode: PadModeName): Uint8Array {
  if (padMode === 'reflection') return remapBilinear(src, srcW, srcH, m, size);
  const out = new Uint8Array(size * size * 3);
  const [m0, m1, m2, m3, m4, m5, m6, m7, m8] = Array.from(m);
  const clamp = (c: number, n: number) => (c < 0 ? 0 : c > n - 1 ? n - 1 : c);
  let o = 0;
  for (let v = 0; v < size; v++) {
    for (let u = 0; u < size; u++, o += 3) {
      const w = m6 * u + m7 * v + m8;
      let x = (m0 * u + m1 * v + m2) / w;
      let y = (m3 * u + m4 * v + m5) / w;
      if (padMode === 'border') {
        x = clamp(x, srcW);
        y = clamp(y, srcH);
      }
      const x0 = Math.floor(x);
      const y0 = Math.floor(y);
      const fx = x - x0;
      const fy = y - y0;
      const taps: [number, number, number][] = [[x0, y0, (1 - fx) * (1 - fy)], [x0 + 1, y0, fx * (1 - fy)], [x0, y0 + 1, (1 - fx) * fy], [x0 + 1, y0 + 1, fx * fy]];
      let r = 0;
      let g = 0;
      let b = 0;
      for (const [tx, ty, wt] of taps) {
        if (wt === 0) continue;
        const cx = padMode === 'border' ? Math.min(tx, srcW - 1) : tx;
        const cy = padMode === 'border' ? Math.min(ty, srcH - 1) : ty;
        if (cx < 0 || cy < 0 || cx >= srcW || cy >= srcH) continue; // zeros
        const i = (cy * srcW + cx) * 3;
        r += src[i] * wt;
        g += src[i + 1] * wt;
        b += src[i + 2] * wt;
      }
      out[o] = r + 0.5;
      out[o + 1] = g + 0.5;
      out[o + 2] = b + 0.5;
    }
  }
  return out;
}
