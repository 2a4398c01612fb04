/**
 * JSON with object keys sorted and null or undefined members left out (dates
 * as ISO strings): two specs that mean the same compare equal, whatever their
 * key order or absent fields.
 */
export function comparableJSON(v: unknown): string {
  if (v === undefined || v === null) return 'null';
  if (v instanceof Date) return JSON.stringify(v.toISOString());
  if (Array.isArray(v)) return `[${v.map(comparableJSON).join(',')}]`;
  if (typeof v === 'object') {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o).filter((k) => o[k] !== undefined && o[k] !== null).sort().map((k) => `${JSON.stringify(k)}:${comparableJSON(o[k])}`).join(',')}}`;
  }
  return JSON.stringify(v);
}
