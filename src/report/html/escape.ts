/** Text from a recording (pod names, error messages) goes into the page only through these. */

export function esc(text: string | number | undefined): string {
  return String(text ?? '').replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** JSON inside <script type="application/json">: no "</script>" or "<!--" can end it early. */
export function jsonForScript(value: unknown): string {
  return JSON.stringify(value).replace(/</g, '\\u003c').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
}

/** A duration for people: 0.173 ms, 42.1 ms, 1.25 s, 3.2 min. */
export function fmtMs(ms: number): string {
  if (ms < 10) return `${ms.toFixed(3).replace(/\.?0+$/, '') || '0'} ms`;
  if (ms < 1000) return `${ms.toFixed(1).replace(/\.0$/, '')} ms`;
  if (ms < 120_000) return `${(ms / 1000).toFixed(2).replace(/\.?0+$/, '')} s`;
  return `${(ms / 60_000).toFixed(1)} min`;
}

export function fmtBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}
