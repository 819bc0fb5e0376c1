// Canvas plots cannot use var(): read the theme's colours when drawing, and redraw when VS Code
// switches theme (it swaps the body class and the --vscode-* variables).

export function cssVar(name: string, fallback: string): string {
  const v = getComputedStyle(document.body).getPropertyValue(name).trim();
  return v || fallback;
}

export interface PlotColors {
  fg: string;
  grid: string;
  blue: string;
  orange: string;
  green: string;
  red: string;
  purple: string;
  yellow: string;
  font: string;
}

export function plotColors(): PlotColors {
  const fg = cssVar('--vscode-charts-foreground', cssVar('--vscode-foreground', '#cccccc'));
  const family = cssVar('--vscode-font-family', 'sans-serif');
  const size = cssVar('--vscode-font-size', '13px');
  return {
    fg,
    grid: cssVar('--vscode-charts-lines', 'rgba(128,128,128,0.35)'),
    blue: cssVar('--vscode-charts-blue', '#3794ff'),
    orange: cssVar('--vscode-charts-orange', '#d18616'),
    green: cssVar('--vscode-charts-green', '#89d185'),
    red: cssVar('--vscode-charts-red', '#f14c4c'),
    purple: cssVar('--vscode-charts-purple', '#b180d7'),
    yellow: cssVar('--vscode-charts-yellow', '#cca700'),
    font: `${parseInt(size, 10) - 1 || 12}px ${family}`,
  };
}

/** The series palette in order. */
export function seriesPalette(c: PlotColors = plotColors()): string[] {
  return [c.blue, c.orange, c.green, c.purple, c.red, c.yellow];
}

export function onThemeChange(cb: () => void): void {
  let last = document.body.className;
  new MutationObserver(() => {
    if (document.body.className !== last) {
      last = document.body.className;
      cb();
    }
  }).observe(document.body, { attributes: true, attributeFilter: ['class', 'style'] });
}
