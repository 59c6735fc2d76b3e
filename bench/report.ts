/**
 * The bench's outputs: a table on stdout (chat, InspIRCd, ratio), every row
 * as JSON, and an SVG chart of the ratios for the README.
 */

import type { Row } from "./load.ts";

/** Metrics where a smaller value is better. */
export function lowerIsBetter(row: { metric: string }): boolean {
  return /CPU per|latency|memory|time to show/.test(row.metric);
}

interface Pair {
  scenario: string;
  metric: string;
  unit: string;
  chat?: number;
  peer?: number;
}

function pairs(rows: Row[]): Pair[] {
  const out: Pair[] = [];
  for (const row of rows) {
    let pair = out.find((p) => p.scenario === row.scenario && p.metric === row.metric);
    if (pair === undefined) {
      pair = { scenario: row.scenario, metric: row.metric, unit: row.unit };
      out.push(pair);
    }
    if (row.system === "chat") pair.chat = row.value;
    else pair.peer = row.value;
  }
  return out;
}

function format(value: number | undefined, unit: string): string {
  if (value === undefined) return "n/a";
  const digits = value >= 100 ? 0 : value >= 10 ? 1 : 2;
  return `${value.toLocaleString("en-US", { maximumFractionDigits: digits })} ${unit}`;
}

/** chat / InspIRCd, and whether that is good for chat. */
function ratio(pair: Pair): string {
  if (pair.chat === undefined || pair.peer === undefined || pair.peer === 0) return "";
  const r = pair.chat / pair.peer;
  if (/generator/.test(pair.metric)) return `${r.toFixed(2)}x`;
  const better = lowerIsBetter(pair) ? r <= 1 : r >= 1;
  return `${r.toFixed(2)}x (${better ? "chat ahead" : "InspIRCd ahead"})`;
}

export function table(rows: Row[]): string {
  const lines = [["scenario", "metric", "chat", "InspIRCd", "chat / InspIRCd"]];
  for (const pair of pairs(rows)) {
    lines.push([
      pair.scenario,
      pair.metric,
      format(pair.chat, pair.unit),
      format(pair.peer, pair.unit),
      ratio(pair),
    ]);
  }
  const widths = lines[0].map((_, i) => Math.max(...lines.map((l) => l[i].length)));
  return lines.map((l) => l.map((cell, i) => cell.padEnd(widths[i])).join("  ").trimEnd())
    .join("\n");
}

/** Bars of "how many times better chat is" (log scale, 1x in the middle), one per compared metric. */
export function chart(rows: Row[], title: string): string {
  const compared = pairs(rows).filter((p) =>
    p.chat !== undefined && p.peer !== undefined && p.peer > 0 && p.chat > 0 &&
    !/generator/.test(p.metric)
  );
  const rowHeight = 26;
  const labelWidth = 330;
  const half = 220;
  const width = labelWidth + 2 * half + 120;
  const height = 70 + compared.length * rowHeight;
  const center = labelWidth + half;
  const scale = half / Math.log2(16); // 16x at the edge
  const escape = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;");
  const bars = compared.map((pair, i) => {
    const advantage = lowerIsBetter(pair) ? pair.peer! / pair.chat! : pair.chat! / pair.peer!;
    const length = Math.max(-half, Math.min(half, Math.log2(advantage) * scale));
    const y = 50 + i * rowHeight;
    const x = length >= 0 ? center : center + length;
    const colour = length >= 0 ? "#2e7d32" : "#c62828";
    const label = advantage >= 1
      ? `chat ${advantage.toFixed(2)}x better`
      : `InspIRCd ${(1 / advantage).toFixed(2)}x better`;
    return `<text x="${labelWidth - 8}" y="${y + 14}" text-anchor="end">${
      escape(`${pair.scenario}: ${pair.metric}`)
    }</text>
  <rect x="${x.toFixed(1)}" y="${y + 3}" width="${
      Math.abs(length).toFixed(1)
    }" height="16" fill="${colour}"/>
  <text x="${center + half + 8}" y="${y + 14}">${label}</text>`;
  }).join("\n  ");
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="12">
  <rect width="100%" height="100%" fill="white"/>
  <text x="10" y="20" font-size="14" font-weight="bold">${escape(title)}</text>
  <text x="${center}" y="40" text-anchor="middle" fill="#555">1x (equal); left: InspIRCd ahead, right: chat ahead (log scale, 16x at the edges)</text>
  <line x1="${center}" y1="45" x2="${center}" y2="${height - 10}" stroke="#999"/>
  ${bars}
</svg>
`;
}
