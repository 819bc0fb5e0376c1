// fastai SmoothenValue: exponential moving average with bias correction.
export class SmoothedValue {
  private mov = 0;
  private n = 0;
  value = NaN;
  constructor(private readonly beta = 0.98) {}

  add(v: number): number {
    this.n += 1;
    this.mov = this.beta * this.mov + (1 - this.beta) * v;
    this.value = this.mov / (1 - Math.pow(this.beta, this.n));
    return this.value;
  }
}
