import { xoroshiro128plus, type RandomGenerator } from 'pure-rand';

/**
 * Seeded randomness for splits, shuffles and augmentation. Every draw comes from a generator
 * keyed by integers (seed, stream, epoch, item...), never from a shared sequence, so results do
 * not depend on the order items are processed in or on how many workers process them.
 */
export class Rng {
  private gen: RandomGenerator;

  constructor(...key: number[]) {
    this.gen = xoroshiro128plus(hashKey(key));
  }

  /** Uniform in [0, 1) with 53 bits. */
  next(): number {
    const hi = this.u32() >>> 5; // 27 bits
    const lo = this.u32() >>> 6; // 26 bits
    return (hi * 67108864 + lo) / 9007199254740992;
  }

  /** Uniform in [lo, hi). */
  uniform(lo: number, hi: number): number {
    return lo + (hi - lo) * this.next();
  }

  /** Log-uniform in [lo, hi) (fastai's log_uniform: multiplicative factors). */
  logUniform(lo: number, hi: number): number {
    return Math.exp(this.uniform(Math.log(lo), Math.log(hi)));
  }

  /** True with probability p. */
  bernoulli(p: number): boolean {
    return this.next() < p;
  }

  /** Integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** A random permutation of 0..n-1 (Fisher–Yates). */
  permutation(n: number): number[] {
    const p = Array.from({ length: n }, (_, i) => i);
    for (let i = n - 1; i > 0; i--) {
      const j = this.int(i + 1);
      [p[i], p[j]] = [p[j], p[i]];
    }
    return p;
  }

  private u32(): number {
    const [v, g] = this.gen.next();
    this.gen = g;
    return v >>> 0;
  }
}

/** Stream ids, so a split, a shuffle and an augmentation with the same seed never share draws. */
export const Stream = { split: 1, shuffle: 2, augment: 3, show: 4 } as const;

/** Mixes integer keys into one 32-bit seed (murmur3 finaliser per key). */
export function hashKey(key: number[]): number {
  let h = 0x9e3779b9 ^ key.length;
  for (const k of key) {
    h = Math.imul(h ^ (k | 0), 0x85ebca6b);
    h = Math.imul(h ^ Math.floor(k / 4294967296), 0xc2b2ae35); // high bits of large seeds
    h ^= h >>> 16;
  }
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) | 0;
}
