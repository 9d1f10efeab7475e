/** How a score reads: rates as percentages, means with two decimals, intervals in brackets. */
export function formatScore(kind: string, v: number | null | undefined): string {
  if (v === null || v === undefined || Number.isNaN(v)) return "—";
  return kind === "mean" ? v.toFixed(2) : `${(v * 100).toFixed(1)}%`;
}

export function formatInterval(kind: string, low: number | null | undefined, high: number | null | undefined): string {
  if (low === null || low === undefined || high === null || high === undefined) return "";
  return `[${formatScore(kind, low)}, ${formatScore(kind, high)}]`;
}
