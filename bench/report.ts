/**
 * The bench's outputs: per-run rows summarized as medians with min-max, a
 * table on stdout (chat, the floor, InspIRCd, and chat as a ratio to each),
 * and an SVG chart of those ratios for the README.
 */

import type { Row } from "./load.ts";
import type { SystemName } from "./systems.ts";
import { CLUSTER_TITLES } from "./cluster.ts";

/** One figure of one system over every round: its median, extremes and each run's value. */
export interface Summary extends Row {
  /** The median (also in `value`). */
  median: number;
  min: number;
  max: number;
  runs: number[];
}

/** When a measured run started: how busy the machine was after the wait for quiet. */
export interface RunNote {
  round: number;
  scenario: string;
  system: SystemName;
  busyCores: number;
  waitedMs: number;
}

/** Metrics where a smaller value is better. */
export function lowerIsBetter(row: { metric: string }): boolean {
  return /CPU per|latency|memory|time to show|bytes per/.test(row.metric);
}

export function median(values: readonly number[]): number {
  const sorted = values.toSorted((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

/** Groups rows by scenario, metric and system, in first-seen order. */
export function summarize(rows: readonly Row[]): Summary[] {
  const groups = new Map<string, Row[]>();
  for (const row of rows) {
    const key = `${row.scenario}\0${row.metric}\0${row.system}`;
    groups.set(key, [...groups.get(key) ?? [], row]);
  }
  return [...groups.values()].map((group) => {
    const runs = group.map((r) => r.value);
    const m = median(runs);
    return {
      ...group[0],
      value: m,
      median: m,
      min: Math.min(...runs),
      max: Math.max(...runs),
      runs,
    };
  });
}

interface Line {
  scenario: string;
  metric: string;
  unit: string;
  bySystem: Map<SystemName, Summary>;
}

function lines(summary: readonly Summary[]): Line[] {
  const out: Line[] = [];
  for (const s of summary) {
    let line = out.find((l) => l.scenario === s.scenario && l.metric === s.metric);
    if (line === undefined) {
      line = { scenario: s.scenario, metric: s.metric, unit: s.unit, bySystem: new Map() };
      out.push(line);
    }
    line.bySystem.set(s.system, s);
  }
  return out;
}

function number(value: number): string {
  const digits = value >= 100 ? 0 : value >= 10 ? 1 : 2;
  return value.toLocaleString("en-US", { maximumFractionDigits: digits });
}

function cell(s: Summary | undefined, unit: string): string {
  if (s === undefined) return "n/a";
  const spread = s.runs.length > 1 ? ` (${number(s.min)}-${number(s.max)})` : "";
  return `${number(s.median)}${spread} ${unit}`;
}

/** chat / another system, and whether that is good for chat. */
function ratio(line: Line, other: SystemName): string {
  const chat = line.bySystem.get("chat")?.median;
  const them = line.bySystem.get(other)?.median;
  if (chat === undefined || them === undefined || them === 0) return "";
  const r = chat / them;
  if (/generator/.test(line.metric)) return `${r.toFixed(2)}x`;
  const better = lowerIsBetter(line) ? r <= 1 : r >= 1;
  return `${r.toFixed(2)}x${better ? " (chat ahead)" : ""}`;
}

const TITLES: Record<string, string> = {
  chat: "chat",
  floor: "floor",
  inspircd: "InspIRCd",
  "chat-before": "chat before",
  ...CLUSTER_TITLES,
};

export function table(summary: readonly Summary[], systems: readonly SystemName[]): string {
  const others = systems.filter((s) => s !== "chat");
  const header = [
    "scenario",
    "metric",
    ...systems.map((s) => TITLES[s] ?? s),
    ...others.map((s) => `chat / ${TITLES[s] ?? s}`),
  ];
  const rows = [header];
  for (const line of lines(summary)) {
    rows.push([
      line.scenario,
      line.metric,
      ...systems.map((s) => cell(line.bySystem.get(s), line.unit)),
      ...others.map((s) => ratio(line, s)),
    ]);
  }
  const widths = header.map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return rows.map((r) => r.map((c, i) => c.padEnd(widths[i])).join("  ").trimEnd()).join("\n");
}

/**
 * Two bars per compared metric, on a log scale with 1x in the middle: how
 * chat stands against the floor (blue: what the runtime allows) and against
 * InspIRCd (green where chat is ahead, red where it is behind).
 */
export function chart(summary: readonly Summary[], title: string): string {
  const compared = lines(summary).filter((line) =>
    !/generator/.test(line.metric) && (line.bySystem.get("chat")?.median ?? 0) > 0 &&
    ["floor", "inspircd"].some((s) => (line.bySystem.get(s)?.median ?? 0) > 0)
  );
  const rowHeight = 40;
  const labelWidth = 360;
  const half = 220;
  const width = labelWidth + 2 * half + 230;
  const height = 80 + compared.length * rowHeight;
  const center = labelWidth + half;
  const scale = half / Math.log2(16); // 16x at the edge
  const escape = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;");
  const bar = (line: Line, other: SystemName, y: number): string => {
    const chat = line.bySystem.get("chat")!.median;
    const them = line.bySystem.get(other)?.median;
    if (them === undefined || them <= 0) return "";
    const advantage = lowerIsBetter(line) ? them / chat : chat / them;
    const length = Math.max(-half, Math.min(half, Math.log2(advantage) * scale));
    const x = length >= 0 ? center : center + length;
    const colour = other === "floor" ? "#1565c0" : length >= 0 ? "#2e7d32" : "#c62828";
    const name = TITLES[other];
    const label = advantage >= 1
      ? `chat ${advantage.toFixed(2)}x better than ${name}`
      : `${name} ${(1 / advantage).toFixed(2)}x better`;
    return `<rect x="${x.toFixed(1)}" y="${y}" width="${
      Math.max(1, Math.abs(length)).toFixed(1)
    }" height="14" fill="${colour}"/>
  <text x="${center + half + 8}" y="${y + 11}">${escape(label)}</text>`;
  };
  const bars = compared.map((line, i) => {
    const y = 56 + i * rowHeight;
    return `<text x="${labelWidth - 8}" y="${y + 20}" text-anchor="end">${
      escape(`${line.scenario}: ${line.metric}`)
    }</text>
  ${bar(line, "floor", y + 2)}
  ${bar(line, "inspircd", y + 18)}`;
  }).join("\n  ");
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="12">
  <rect width="100%" height="100%" fill="white"/>
  <text x="10" y="20" font-size="14" font-weight="bold">${escape(title)}</text>
  <text x="${center}" y="40" text-anchor="middle" fill="#555">medians; 1x: equal; left: the other system ahead, right: chat ahead (log scale, 16x at the edges); blue: against the floor, green/red: against InspIRCd</text>
  <line x1="${center}" y1="48" x2="${center}" y2="${height - 10}" stroke="#999"/>
  ${bars}
</svg>
`;
}
