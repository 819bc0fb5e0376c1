// Seeded random numbers for weight init and dropout masks (reproducible runs with --seed).
import prand from 'pure-rand';

export class SeededRandom {
  private readonly rng: prand.RandomGenerator;
  constructor(seed: number) {
    this.rng = prand.xoroshiro128plus(seed | 0);
  }
  /** Uniform in (0, 1): never exactly 0, so log() is safe. */
  uniform(): number {
    const hi = (this.rng.unsafeNext() >>> 0) / 4294967296;
    const lo = (this.rng.unsafeNext() >>> 0) / 4294967296 / 4294967296;
    return hi + lo || Number.MIN_VALUE;
  }
  /** A 31-bit integer, e.g. to seed tfjs's own generators. */
  int(): number {
    return this.rng.unsafeNext() >>> 1;
  }
  /** n normal samples with the given std (Box–Muller). */
  normal(n: number, std: number): Float32Array {
    const out = new Float32Array(n);
    for (let i = 0; i < n; i += 2) {
      const r = Math.sqrt(-2 * Math.log(this.uniform())) * std;
      const theta = 2 * Math.PI * this.uniform();
      out[i] = r * Math.cos(theta);
      if (i + 1 < n) out[i + 1] = r * Math.sin(theta);
    }
    return out;
  }
}
