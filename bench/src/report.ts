/** Percentile of an ascending-sorted sample (nearest rank). */
export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] as number;
}

export const median = (values: number[]) =>
  percentile(
    [...values].sort((a, b) => a - b),
    50,
  );

/** The percentiles a latency curve is drawn from. */
export const CURVE = [1, 2.5, 10, 25, 50, 75, 90, 97.5, 99, 99.9];

export function curveOf(latencies: number[]): number[] {
  const sorted = [...latencies].sort((a, b) => a - b);
  return CURVE.map((p) => percentile(sorted, p));
}

/** One measure of one side in one round. */
export type Sample = Record<string, number>;

export interface Measure {
  name: string;
  /** What each number is, e.g. `creates/s` → higher is better. */
  metrics: { key: string; unit: string; higherIsBetter: boolean }[];
  rounds: { service: Sample; bare: Sample; first: 'service' | 'bare' }[];
  /** Latency curve (CURVE percentiles, ms) of the last round, per side. */
  curves?: { service: number[]; bare: number[] };
  note?: string;
}

const fmt = (v: number) =>
  Number.isNaN(v) ? '–' : Math.abs(v) >= 100 ? v.toFixed(0) : Math.abs(v) >= 10 ? v.toFixed(1) : v.toFixed(2);

export interface Row {
  measure: string;
  metric: string;
  service: number;
  bare: number;
  ratio: number;
  spread: [number, number];
}

export function rowsOf(m: Measure): Row[] {
  return m.metrics.map(({ key, unit }) => {
    const ratios = m.rounds.map((r) => (r.service[key] ?? Number.NaN) / (r.bare[key] ?? Number.NaN));
    const sorted = [...ratios].sort((a, b) => a - b);
    return {
      measure: m.name,
      metric: `${key} (${unit})`,
      service: median(m.rounds.map((r) => r.service[key] ?? Number.NaN)),
      bare: median(m.rounds.map((r) => r.bare[key] ?? Number.NaN)),
      ratio: median(ratios),
      spread: [sorted[0] ?? Number.NaN, sorted.at(-1) ?? Number.NaN],
    };
  });
}

export function table(rows: Row[]): string {
  const head = ['measure', 'metric', 'service (median)', 'bare (median)', 'ratio (median)', 'ratio spread'];
  const body = rows.map((r) => [
    r.measure,
    r.metric,
    fmt(r.service),
    fmt(r.bare),
    `${fmt(r.ratio)}×`,
    `${fmt(r.spread[0])}–${fmt(r.spread[1])}×`,
  ]);
  const all = [head, ...body];
  const widths = head.map((_, i) => Math.max(...all.map((line) => (line[i] ?? '').length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join(' | ')} |`;
  return [line(head), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...body.map(line)].join('\n');
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;');

/** Latency curves (percentile → ms), one panel per measure, service and bare side by side. */
export function svgChart(
  title: string,
  panels: { name: string; service: number[]; bare: number[] }[],
): string {
  const w = 420;
  const h = 260;
  const pad = { l: 50, r: 15, t: 30, b: 40 };
  const cols = 2;
  const width = cols * w;
  const height = Math.ceil(panels.length / cols) * h + 30;
  const parts: string[] = [];
  panels.forEach((panel, index) => {
    const ox = (index % cols) * w;
    const oy = 30 + Math.floor(index / cols) * h;
    const max = Math.max(1, ...panel.service, ...panel.bare) * 1.05;
    const x = (i: number) => ox + pad.l + (i / (CURVE.length - 1)) * (w - pad.l - pad.r);
    const y = (ms: number) => oy + h - pad.b - (ms / max) * (h - pad.t - pad.b);
    const path = (values: number[]) =>
      values.map((v, i) => `${i === 0 ? 'M' : 'L'}${x(i).toFixed(1)},${y(v).toFixed(1)}`).join(' ');
    parts.push(`<text x="${ox + pad.l}" y="${oy + 18}" font-weight="bold">${esc(panel.name)}</text>`);
    parts.push(
      `<line x1="${x(0)}" y1="${y(0)}" x2="${x(CURVE.length - 1)}" y2="${y(0)}" stroke="#888"/>`,
      `<line x1="${x(0)}" y1="${y(0)}" x2="${x(0)}" y2="${y(max)}" stroke="#888"/>`,
    );
    for (const frac of [0, 0.5, 1]) {
      parts.push(
        `<text x="${ox + pad.l - 6}" y="${y(max * frac) + 4}" text-anchor="end" font-size="10">${fmt(max * frac)}</text>`,
      );
    }
    CURVE.forEach((p, i) => {
      parts.push(`<text x="${x(i)}" y="${y(0) + 14}" text-anchor="middle" font-size="9">p${p}</text>`);
    });
    parts.push(
      `<text x="${ox + 8}" y="${oy + h / 2}" font-size="10" transform="rotate(-90 ${ox + 12} ${oy + h / 2})">ms</text>`,
    );
    parts.push(
      `<path d="${path(panel.bare)}" fill="none" stroke="#999" stroke-width="2" stroke-dasharray="5,3"/>`,
    );
    parts.push(`<path d="${path(panel.service)}" fill="none" stroke="#c0392b" stroke-width="2"/>`);
  });
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="10" y="20">${esc(title)} — <tspan fill="#c0392b">service</tspan> vs <tspan fill="#777">bare (dashed)</tspan>, latency by percentile</text>`,
    ...parts,
    '</svg>',
  ].join('\n');
}
