import { chartFrame, escapeXml } from '../svg-frame.ts';
import type { CompareResult } from './report.ts';

const WIDTH = 600;
const HEIGHT = 340;
const PAD = { left: 64, right: 210, top: 36, bottom: 44 };

/** The operations drawn: one colour each; SQL solid, documents dashed. */
const DRAWN = [
  { name: 'posts, newest first', color: '#1f6feb' },
  { name: 'feed (followed_posts)', color: '#2da44e' },
  { name: "a tag's posts", color: '#8250df' },
  { name: 'create a post with 3 tags', color: '#cf222e' },
];
const SIDES = [
  { key: 'sql', label: 'SQL', dash: '' },
  { key: 'doc', label: 'documents', dash: '6 4' },
] as const;

/** p50 latency by scale (evenly spaced). */
export function latencyChart(r: CompareResult, subtitle: string): string {
  const scales = r.scales.map((s) => s.scale);
  const point = (name: string, side: 'sql' | 'doc') =>
    r.scales.map((s) => s.operations.find((op) => op.name === name)?.[side].p50 ?? 0);
  const all = DRAWN.flatMap((d) => SIDES.flatMap((s) => point(d.name, s.key)));
  const { out, y, plotW, plotH } = chartFrame({
    width: WIDTH,
    height: HEIGHT,
    pad: PAD,
    title: 'p50 latency by scale, SQL (solid) and documents (dashed)',
    subtitle,
    xLabel: "scale of the bench's dataset",
    yLabel: 'p50 ms',
    yMax: Math.max(1, ...all) * 1.1,
  });
  const x = (i: number) =>
    PAD.left + (scales.length > 1 ? (i / (scales.length - 1)) * plotW : plotW / 2);
  r.scales.forEach((s, i) => {
    out.push(
      `<text x="${x(i)}" y="${PAD.top + plotH + 16}" text-anchor="middle">${s.scale} (${s.posts} posts)</text>`,
    );
  });
  let row = 0;
  for (const d of DRAWN) {
    for (const side of SIDES) {
      const values = point(d.name, side.key);
      const path = values.map((v, i) => `${x(i).toFixed(1)},${y(v).toFixed(1)}`).join(' ');
      const ly = PAD.top + 10 + row * 18;
      row += 1;
      out.push(
        `<polyline points="${path}" fill="none" stroke="${d.color}" stroke-width="2" stroke-dasharray="${side.dash}"/>`,
        ...values.map(
          (v, i) =>
            `<circle cx="${x(i).toFixed(1)}" cy="${y(v).toFixed(1)}" r="3" fill="${d.color}"/>`,
        ),
        `<line x1="${WIDTH - PAD.right + 12}" x2="${WIDTH - PAD.right + 36}" y1="${ly}" y2="${ly}" stroke="${d.color}" stroke-width="2" stroke-dasharray="${side.dash}"/>`,
        `<text x="${WIDTH - PAD.right + 42}" y="${ly + 4}">${escapeXml(`${d.name}, ${side.label}`)}</text>`,
      );
    }
  }
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
