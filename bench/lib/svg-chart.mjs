// A small SVG line chart, no dependency: one series per line, points as [x, y], axes with ticks.
// `logX` spaces x by its logarithm (session counts 1 → 64, 10 → 2,000).

const W = 640;
const H = 360;
const M = { left: 70, right: 20, top: 40, bottom: 70 };
const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e'];

const esc = text => String(text).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const num = value =>
  Math.abs(value) >= 100 ? Math.round(value).toLocaleString('en') : String(+value.toFixed(2));

/** The smallest 1, 2, 2.5 or 5 × 10^k at least `raw` (so that axis ticks read as round numbers). */
function niceStep(raw) {
  if (!(raw > 0)) return 1;
  const power = 10 ** Math.floor(Math.log10(raw));
  return [1, 2, 2.5, 5, 10].find(factor => factor * power >= raw) * power;
}

/** The SVG text of a line chart of `series` ({ name, points: [[x, y], …], dashed? }). */
export function lineChart({ title, xLabel, yLabel, series, logX = false }) {
  const xs = series.flatMap(line => line.points.map(([x]) => x));
  const ys = series.flatMap(line => line.points.map(([, y]) => y));
  const fx = logX ? Math.log : x => x;
  const [x0, x1] = [fx(Math.min(...xs)), fx(Math.max(...xs))];
  const yMax = niceStep((Math.max(...ys) * 1.05) / 4) * 4;
  const px = x => M.left + ((fx(x) - x0) / (x1 - x0 || 1)) * (W - M.left - M.right);
  const py = y => H - M.bottom - (y / yMax) * (H - M.top - M.bottom);
  const out = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${W / 2}" y="22" text-anchor="middle" font-size="14">${esc(title)}</text>`,
    `<line x1="${M.left}" y1="${H - M.bottom}" x2="${W - M.right}" y2="${H - M.bottom}" stroke="black"/>`,
    `<line x1="${M.left}" y1="${M.top}" x2="${M.left}" y2="${H - M.bottom}" stroke="black"/>`
  ];
  for (const x of [...new Set(xs)].sort((a, b) => a - b)) {
    out.push(
      `<text x="${px(x)}" y="${H - M.bottom + 16}" text-anchor="middle">${num(x)}</text>`,
      `<line x1="${px(x)}" y1="${H - M.bottom}" x2="${px(x)}" y2="${H - M.bottom + 4}" stroke="black"/>`
    );
  }
  for (let i = 0; i <= 4; i++) {
    const y = (yMax * i) / 4;
    out.push(
      `<text x="${M.left - 6}" y="${py(y) + 4}" text-anchor="end">${num(y)}</text>`,
      `<line x1="${M.left}" y1="${py(y)}" x2="${W - M.right}" y2="${py(y)}" stroke="#ddd"/>`
    );
  }
  out.push(
    `<text x="${(M.left + W - M.right) / 2}" y="${H - M.bottom + 34}" text-anchor="middle">${esc(xLabel)}</text>`,
    `<text transform="translate(16 ${(M.top + H - M.bottom) / 2}) rotate(-90)" text-anchor="middle">${esc(yLabel)}</text>`
  );
  // Legend entries side by side, evenly spaced across the plot's width.
  const step = Math.min(200, (W - M.left - M.right) / series.length);
  series.forEach((line, i) => {
    const color = COLORS[i % COLORS.length];
    const d = line.points.map(([x, y], j) => `${j === 0 ? 'M' : 'L'}${px(x).toFixed(1)},${py(y).toFixed(1)}`);
    out.push(
      `<path d="${d.join(' ')}" fill="none" stroke="${color}" stroke-width="2"${line.dashed ? ' stroke-dasharray="6 4"' : ''}/>`,
      ...line.points.map(
        ([x, y]) => `<circle cx="${px(x).toFixed(1)}" cy="${py(y).toFixed(1)}" r="3" fill="${color}"/>`
      ),
      `<line x1="${M.left + 10 + i * step}" y1="${H - 14}" x2="${M.left + 34 + i * step}" y2="${H - 14}" stroke="${color}" stroke-width="2"${line.dashed ? ' stroke-dasharray="6 4"' : ''}/>`,
      `<text x="${M.left + 40 + i * step}" y="${H - 10}">${esc(line.name)}</text>`
    );
  });
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
