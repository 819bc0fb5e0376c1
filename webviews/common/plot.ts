// uPlot wrapper: sized to its container, themed from --vscode-* colours, rebuilt on theme change.
import uPlot from 'uplot';
import { plotColors, onThemeChange, type PlotColors } from './theme';

export type PlotOptionsBuilder = (colors: PlotColors, width: number, height: number) => Omit<uPlot.Options, 'width' | 'height'>;

export function themedAxis(c: PlotColors, extra: uPlot.Axis = {}): uPlot.Axis {
  return {
    stroke: c.fg,
    font: c.font,
    labelFont: c.font,
    grid: { stroke: c.grid, width: 1 },
    ticks: { stroke: c.grid, width: 1 },
    ...extra,
  };
}

export class ThemedPlot {
  plot: uPlot;
  private data: uPlot.AlignedData;

  constructor(
    private readonly container: HTMLElement,
    private readonly build: PlotOptionsBuilder,
    data: uPlot.AlignedData,
    private readonly height = 260,
  ) {
    this.data = data;
    this.plot = this.create();
    new ResizeObserver(() => {
      const w = this.width();
      if (Math.abs(w - this.plot.width) > 1) this.plot.setSize({ width: w, height: this.height });
    }).observe(container);
    onThemeChange(() => this.rebuild());
  }

  private width(): number {
    return Math.max(200, Math.floor(this.container.clientWidth || 600));
  }

  private create(): uPlot {
    const w = this.width();
    const built = this.build(plotColors(), w, this.height);
    // a dashed series gets a dashed legend marker, so it is not its solid twin's identical square
    const legend = { ...built.legend, markers: { dash: (u: uPlot, i: number) => (u.series[i]?.dash ? 'dashed' : 'solid'), ...built.legend?.markers } };
    const opts = { ...built, legend, width: w, height: this.height } as uPlot.Options;
    return new uPlot(opts, this.data, this.container);
  }

  setData(data: uPlot.AlignedData, resetScales = true): void {
    this.data = data;
    this.plot.setData(data, resetScales);
  }

  rebuild(): void {
    this.plot.destroy();
    this.plot = this.create();
  }
}
