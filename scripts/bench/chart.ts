import { chartFrame } from '../svg-frame.ts';
import type { DepthPoint, DepthSeries } from './depth.ts';

const WIDTH = 560;
const HEIGHT = 320;
const PAD = { left: 64, right: 170, top: 36, bottom: 44 };

const SERIES: { key: keyof DepthSeries; label: string; color: string; dash: string }[] = [
  { key: 'apiCursor', label: 'API, cursor', color: '#1f6feb', dash: '' },
  { key: 'rawCursor', label: 'raw driver, cursor', color: '#2da44e', dash: '6 4' },
  { key: 'rawSkip', label: 'raw driver, skip/limit', color: '#cf222e', dash: '' },
];

/** A small SVG line chart of p99 latency against page depth, one line per pagination method. */
export function depthChart(series: DepthSeries, subtitle: string): string {
  const all = SERIES.flatMap((s) => series[s.key]);
  const { out, y, plotW, plotH } = chartFrame({
    width: WIDTH,
    height: HEIGHT,
    pad: PAD,
    title: 'p99 latency of a page of 20 posts by depth',
    subtitle,
    xLabel: 'page depth (share of posts before the page)',
    yLabel: 'p99 ms',
    yMax: Math.max(1, ...all.map((p) => p.p99)) * 1.1,
  });
  const x = (depth: number) => PAD.left + depth * plotW;
  for (const depth of [0, 0.1, 0.5, 0.9]) {
    out.push(
      `<text x="${x(depth)}" y="${PAD.top + plotH + 16}" text-anchor="middle">${depth * 100}%</text>`,
    );
  }
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
