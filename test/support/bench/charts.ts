// Plain SVG charts drawn from benchmark numbers: no browser, no network, no dependency. Two kinds,
// enough for what the benchmarks show: lines (a latency distribution, a time against a size) and
// bars with a min–max whisker (a rate measured several times).

/** One line of a line chart: its name in the legend and its points, in x order. */
export interface Series {
  name: string;
  points: ReadonlyArray<readonly [x: number, y: number]>;
}

/** One bar: the median of repeated measurements, and their smallest and largest. */
export interface Bar {
  label: string;
  value: number;
  low?: number;
  high?: number;
}

const WIDTH = 760;
const HEIGHT = 460;
/** Room for the title and two rows of legend above the plot. */
const MARGIN = { top: 84, right: 24, bottom: 56, left: 72 };
const LEGEND = { top: 46, row: 18, columns: 3 };
/** Distinguishable in colour and in grey (Okabe–Ito). */
const COLOURS = ['#000000', '#0072b2', '#d55e00', '#009e73', '#cc79a7', '#e69f00', '#56b4e9'];
const DASHES = ['', '6 3', '2 3', '8 3 2 3', '', '6 3', '2 3'];

/** Escapes text for SVG content and attribute values. */
export function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** About `count` round tick values (1, 2 or 5 × 10^k apart), from at or below `min` to at or above `max`. */
export function linearTicks(min: number, max: number, count = 6): number[] {
  if (!(max > min)) return [min];
  const rough = (max - min) / count;
  const magnitude = 10 ** Math.floor(Math.log10(rough));
  const step = [1, 2, 5, 10].map((factor) => factor * magnitude).find((candidate) => candidate >= rough)!;
  const ticks: number[] = [];
  for (let value = Math.floor(min / step) * step; value < max + step - step * 1e-9; value += step)
    ticks.push(Number(value.toPrecision(12)));
  return ticks;
}

/** 1, 2 and 5 × 10^k within [min, max] (min > 0). */
export function logTicks(min: number, max: number): number[] {
  const ticks: number[] = [];
  for (let power = Math.floor(Math.log10(min)); power <= Math.ceil(Math.log10(max)); power++) {
    for (const factor of [1, 2, 5]) {
      const value = Number((factor * 10 ** power).toPrecision(12));
      if (value >= min * (1 - 1e-9) && value <= max * (1 + 1e-9)) ticks.push(value);
    }
  }
  return ticks;
}

function label(value: number): string {
  if (value >= 1000) return value.toLocaleString('en-US', { maximumFractionDigits: 0 });
  return String(Number(value.toPrecision(3)));
}

function frame(title: string, body: string[]): string {
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${WIDTH} ${HEIGHT}" width="${WIDTH}" height="${HEIGHT}" font-family="system-ui, -apple-system, 'Segoe UI', sans-serif" font-size="12">`,
    `<title>${escapeXml(title)}</title>`,
    `<rect width="${WIDTH}" height="${HEIGHT}" fill="#ffffff"/>`,
    `<text x="${MARGIN.left}" y="24" font-size="15" font-weight="600" fill="#111">${escapeXml(title)}</text>`,
    ...body,
    '</svg>',
    '',
  ].join('\n');
}

function axes(
  xTicks: Array<{ at: number; text: string }>,
  yTicks: Array<{ at: number; text: string }>,
  xLabel: string,
  yLabel: string,
): string[] {
  const bottom = HEIGHT - MARGIN.bottom;
  const right = WIDTH - MARGIN.right;
  const lines: string[] = [];
  for (const tick of yTicks) {
    lines.push(`<line x1="${MARGIN.left}" x2="${right}" y1="${tick.at}" y2="${tick.at}" stroke="#e3e3e3"/>`);
    lines.push(`<text x="${MARGIN.left - 8}" y="${tick.at + 4}" text-anchor="end" fill="#333">${escapeXml(tick.text)}</text>`);
  }
  for (const tick of xTicks) {
    lines.push(`<line x1="${tick.at}" x2="${tick.at}" y1="${bottom}" y2="${bottom + 5}" stroke="#333"/>`);
    lines.push(`<text x="${tick.at}" y="${bottom + 19}" text-anchor="middle" fill="#333">${escapeXml(tick.text)}</text>`);
  }
  lines.push(`<line x1="${MARGIN.left}" x2="${right}" y1="${bottom}" y2="${bottom}" stroke="#333"/>`);
  lines.push(`<line x1="${MARGIN.left}" x2="${MARGIN.left}" y1="${MARGIN.top}" y2="${bottom}" stroke="#333"/>`);
  lines.push(`<text x="${(MARGIN.left + right) / 2}" y="${HEIGHT - 14}" text-anchor="middle" fill="#111">${escapeXml(xLabel)}</text>`);
  const middle = (MARGIN.top + bottom) / 2;
  lines.push(`<text transform="translate(18 ${middle}) rotate(-90)" text-anchor="middle" fill="#111">${escapeXml(yLabel)}</text>`);
  return lines;
}

/**
 * A line chart, one line per series, with a legend. `xScale: 'log'` for values spanning decades
 * (latencies); `steps` draws each series as a staircase (a distribution function).
 */
export function lineChart(options: {
  title: string;
  xLabel: string;
  yLabel: string;
  series: readonly Series[];
  xScale?: 'linear' | 'log';
  /** The y axis starts here (default 0). */
  yMin?: number;
  yMax?: number;
  steps?: boolean;
}): string {
  const series = options.series.filter((line) => line.points.length > 0);
  const xs = series.flatMap((line) => line.points.map(([x]) => x));
  const ys = series.flatMap((line) => line.points.map(([, y]) => y));
  if (xs.length === 0) return frame(options.title, [`<text x="${MARGIN.left}" y="80" fill="#333">No data in this run.</text>`]);
  const log = options.xScale === 'log';
  const positive = xs.filter((x) => x > 0);
  const xMin = log ? Math.min(...positive) : Math.min(0, ...xs);
  const xMax = Math.max(...xs);
  const yTicks = linearTicks(options.yMin ?? 0, options.yMax ?? Math.max(...ys));
  const yMin = yTicks[0]!;
  const yMax = yTicks.at(-1)!;
  const xTickValues = log ? logTicks(xMin, xMax) : linearTicks(xMin, xMax);
  const xLow = log ? Math.min(xMin, xTickValues[0] ?? xMin) : Math.min(xMin, xTickValues[0]!);
  const xHigh = Math.max(xMax, xTickValues.at(-1) ?? xMax);
  const plotWidth = WIDTH - MARGIN.left - MARGIN.right;
  const plotHeight = HEIGHT - MARGIN.top - MARGIN.bottom;
  const toX = (x: number) =>
    MARGIN.left +
    (log
      ? (Math.log10(Math.max(x, xLow)) - Math.log10(xLow)) / (Math.log10(xHigh) - Math.log10(xLow) || 1)
      : (x - xLow) / (xHigh - xLow || 1)) *
      plotWidth;
  const toY = (y: number) => MARGIN.top + plotHeight - ((y - yMin) / (yMax - yMin || 1)) * plotHeight;
  const body = axes(
    xTickValues.map((value) => ({ at: toX(value), text: label(value) })),
    yTicks.map((value) => ({ at: toY(value), text: label(value) })),
    options.xLabel,
    options.yLabel,
  );
  series.forEach((line, index) => {
    const colour = COLOURS[index % COLOURS.length]!;
    const dash = DASHES[index % DASHES.length] ? ` stroke-dasharray="${DASHES[index % DASHES.length]}"` : '';
    const points: string[] = [];
    line.points.forEach(([x, y], i) => {
      if (options.steps && i > 0) points.push(`${toX(x).toFixed(1)},${toY(line.points[i - 1]![1]).toFixed(1)}`);
      points.push(`${toX(x).toFixed(1)},${toY(y).toFixed(1)}`);
    });
    body.push(
      `<polyline data-series="${escapeXml(line.name)}" fill="none" stroke="${colour}" stroke-width="2"${dash} points="${points.join(' ')}"/>`,
    );
    if (!options.steps) {
      for (const [x, y] of line.points) body.push(`<circle cx="${toX(x).toFixed(1)}" cy="${toY(y).toFixed(1)}" r="3" fill="${colour}"/>`);
    }
    const legendY = LEGEND.top + Math.floor(index / LEGEND.columns) * LEGEND.row;
    const legendX = MARGIN.left + (index % LEGEND.columns) * ((WIDTH - MARGIN.left - MARGIN.right) / LEGEND.columns);
    body.push(`<line x1="${legendX}" x2="${legendX + 24}" y1="${legendY}" y2="${legendY}" stroke="${colour}" stroke-width="2"${dash}/>`);
    body.push(`<text x="${legendX + 30}" y="${legendY + 4}" fill="#111">${escapeXml(line.name)}</text>`);
  });
  return frame(options.title, body);
}

/** A bar chart of medians, each with a whisker from its smallest to its largest measurement. */
export function barChart(options: { title: string; yLabel: string; bars: readonly Bar[] }): string {
  if (options.bars.length === 0) return frame(options.title, [`<text x="${MARGIN.left}" y="80" fill="#333">No data in this run.</text>`]);
  const yTicks = linearTicks(0, Math.max(...options.bars.map((bar) => bar.high ?? bar.value)) * 1.08);
  const yMax = yTicks.at(-1)!;
  const plotWidth = WIDTH - MARGIN.left - MARGIN.right;
  const plotHeight = HEIGHT - MARGIN.top - MARGIN.bottom;
  const toY = (y: number) => MARGIN.top + plotHeight - (y / yMax) * plotHeight;
  const slot = plotWidth / options.bars.length;
  const width = Math.min(120, slot * 0.6);
  const body = axes(
    [],
    yTicks.map((value) => ({ at: toY(value), text: label(value) })),
    '',
    options.yLabel,
  );
  options.bars.forEach((bar, index) => {
    const centre = MARGIN.left + slot * (index + 0.5);
    const colour = COLOURS[(index + 1) % COLOURS.length]!;
    body.push(
      `<rect data-bar="${escapeXml(bar.label)}" x="${(centre - width / 2).toFixed(1)}" y="${toY(bar.value).toFixed(1)}" width="${width.toFixed(1)}" height="${(toY(0) - toY(bar.value)).toFixed(1)}" fill="${colour}" fill-opacity="0.85"/>`,
    );
    if (bar.low !== undefined && bar.high !== undefined) {
      const [low, high] = [toY(bar.low).toFixed(1), toY(bar.high).toFixed(1)];
      body.push(`<line x1="${centre}" x2="${centre}" y1="${low}" y2="${high}" stroke="#111" stroke-width="1.5"/>`);
      for (const y of [low, high])
        body.push(`<line x1="${centre - 8}" x2="${centre + 8}" y1="${y}" y2="${y}" stroke="#111" stroke-width="1.5"/>`);
    }
    body.push(
      `<text x="${centre}" y="${(toY(bar.high ?? bar.value) - 6).toFixed(1)}" text-anchor="middle" fill="#111">${escapeXml(label(bar.value))}</text>`,
    );
    body.push(`<text x="${centre}" y="${HEIGHT - MARGIN.bottom + 19}" text-anchor="middle" fill="#333">${escapeXml(bar.label)}</text>`);
  });
  return frame(options.title, body);
}
