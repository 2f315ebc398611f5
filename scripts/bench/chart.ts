import type { DepthPoint, DepthSeries } from './depth.ts';

const WIDTH = 560;
const HEIGHT = 320;
const PAD = { left: 64, right: 170, top: 36, bottom: 44 };

const SERIES: { key: keyof DepthSeries; label: string; color: string; dash: string }[] = [
  { key: 'apiCursor', label: 'API, cursor', color: '#1f6feb', dash: '' },
  { key: 'rawCursor', label: 'raw driver, cursor', color: '#2da44e', dash: '6 4' },
  { key: 'rawSkip', label: 'raw driver, skip/limit', color: '#cf222e', dash: '' },
];

const escapeXml = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;');

/** A small SVG line chart of p99 latency against page depth, one line per pagination method. */
export function depthChart(series: DepthSeries, subtitle: string): string {
  const all = SERIES.flatMap((s) => series[s.key]);
  const yMax = Math.max(1, ...all.map((p) => p.p99)) * 1.1;
  const plotW = WIDTH - PAD.left - PAD.right;
  const plotH = HEIGHT - PAD.top - PAD.bottom;
  const x = (depth: number) => PAD.left + depth * plotW;
  const y = (ms: number) => PAD.top + plotH - (ms / yMax) * plotH;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" font-family="sans-serif" font-size="11" role="img" aria-labelledby="chart-title">`,
    `<title id="chart-title">p99 latency of a page of 20 posts by depth: ${escapeXml(subtitle)}</title>`,
    `<rect width="${WIDTH}" height="${HEIGHT}" fill="#fff"/>`,
    `<text x="${PAD.left}" y="16" font-size="13" font-weight="bold">p99 latency of a page of 20 posts by depth</text>`,
    `<text x="${PAD.left}" y="30" fill="#555">${escapeXml(subtitle)}</text>`,
  ];
  for (let i = 0; i <= 4; i += 1) {
    const ms = (yMax / 4) * i;
    out.push(
      `<line x1="${PAD.left}" x2="${PAD.left + plotW}" y1="${y(ms)}" y2="${y(ms)}" stroke="#ddd"/>`,
      `<text x="${PAD.left - 6}" y="${y(ms) + 4}" text-anchor="end">${ms >= 10 ? ms.toFixed(0) : ms.toFixed(1)}</text>`,
    );
  }
  for (const depth of [0, 0.1, 0.5, 0.9]) {
    out.push(
      `<text x="${x(depth)}" y="${PAD.top + plotH + 16}" text-anchor="middle">${depth * 100}%</text>`,
    );
  }
  out.push(
    `<text x="${PAD.left + plotW / 2}" y="${HEIGHT - 8}" text-anchor="middle">page depth (share of posts before the page)</text>`,
    `<text transform="translate(14 ${PAD.top + plotH / 2}) rotate(-90)" text-anchor="middle">p99 ms</text>`,
  );
  SERIES.forEach((s, i) => {
    const points: DepthPoint[] = series[s.key];
    const path = points.map((p) => `${x(p.depth).toFixed(1)},${y(p.p99).toFixed(1)}`).join(' ');
    out.push(
      `<polyline points="${path}" fill="none" stroke="${s.color}" stroke-width="2" stroke-dasharray="${s.dash}"/>`,
      ...points.map(
        (p) =>
          `<circle cx="${x(p.depth).toFixed(1)}" cy="${y(p.p99).toFixed(1)}" r="3" fill="${s.color}"/>`,
      ),
      `<line x1="${WIDTH - PAD.right + 16}" x2="${WIDTH - PAD.right + 40}" y1="${PAD.top + 10 + i * 18}" y2="${PAD.top + 10 + i * 18}" stroke="${s.color}" stroke-width="2" stroke-dasharray="${s.dash}"/>`,
      `<text x="${WIDTH - PAD.right + 46}" y="${PAD.top + 14 + i * 18}">${s.label}</text>`,
    );
  });
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
