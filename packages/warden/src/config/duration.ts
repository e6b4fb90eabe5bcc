/**
 * Durations in configuration: a whole number followed by a unit (`250ms`, `30s`, `5m`, `1h`, `90d`).
 * Parsed once to milliseconds when the config is loaded.
 */
const units: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const pattern = /^(\d{1,9})(ms|s|m|h|d)$/;

/** Milliseconds for a duration string, or undefined when it is not one. */
export function parseDuration(text: string): number | undefined {
  const match = pattern.exec(text.trim());
  if (!match) return undefined;
  return Number(match[1]) * (units[match[2]!] ?? 0);
}
