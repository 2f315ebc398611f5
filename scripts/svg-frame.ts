// The frame of the SVG line charts of npm run compare:sql: no chart library, a few lines of SVG
// that render in any browser or viewer.

export const escapeXml = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;');

export interface Frame {
  width: number;
  height: number;
  pad: { left: number; right: number; top: number; bottom: number };
  title: string;
  subtitle: string;
  xLabel: string;
  yLabel: string;
  yMax: number;
}

/** The frame of a line chart: title, subtitle, the y grid (five lines) and both axis labels. */
export function chartFrame(f: Frame) {
  const plotW = f.width - f.pad.left - f.pad.right;
  const plotH = f.height - f.pad.top - f.pad.bottom;
  const y = (ms: number) => f.pad.top + plotH - (ms / f.yMax) * plotH;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${f.width}" height="${f.height}" viewBox="0 0 ${f.width} ${f.height}" font-family="sans-serif" font-size="11" role="img" aria-labelledby="chart-title">`,
    `<title id="chart-title">${escapeXml(f.title)}: ${escapeXml(f.subtitle)}</title>`,
    `<rect width="${f.width}" height="${f.height}" fill="#fff"/>`,
    `<text x="${f.pad.left}" y="16" font-size="13" font-weight="bold">${escapeXml(f.title)}</text>`,
    `<text x="${f.pad.left}" y="30" fill="#555">${escapeXml(f.subtitle)}</text>`,
  ];
  for (let i = 0; i <= 4; i += 1) {
    const ms = (f.yMax / 4) * i;
    out.push(
      `<line x1="${f.pad.left}" x2="${f.pad.left + plotW}" y1="${y(ms)}" y2="${y(ms)}" stroke="#ddd"/>`,
      `<text x="${f.pad.left - 6}" y="${y(ms) + 4}" text-anchor="end">${ms >= 10 ? ms.toFixed(0) : ms.toFixed(1)}</text>`,
    );
  }
  out.push(
    `<text x="${f.pad.left + plotW / 2}" y="${f.height - 8}" text-anchor="middle">${escapeXml(f.xLabel)}</text>`,
    `<text transform="translate(14 ${f.pad.top + plotH / 2}) rotate(-90)" text-anchor="middle">${escapeXml(f.yLabel)}</text>`,
  );
  return { out, y, plotW, plotH };
}
