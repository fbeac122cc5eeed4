import type { Header } from '../call.js';

export const REDACTED_VALUE = 'REDACTED';

/** Header names whose values are credentials: authorization, cookies and anything ending in -token. */
export function isSecretHeader(name: string): boolean {
  // Every secret name ends in an n (authorization, -token, -token-bin) or an e (cookie,
  // set-cookie), in either case: most headers are ruled out here, without a lower-case copy of
  // their name (this runs for every header of every call, recorded or traced).
  const length = name.length;
  const last = name.charCodeAt(length - 1) | 0x20;
  if (last === 0x65) {
    if (length !== 6 && length !== 10) return false;
  } else if (last !== 0x6e) {
    return false;
  }
  const n = name.toLowerCase();
  return n === 'authorization' || n === 'proxy-authorization' || n === 'cookie' || n === 'set-cookie' || n.endsWith('-token') || n.endsWith('-token-bin');
}

export function hasSecretHeader(headers: readonly Header[]): boolean {
  for (let i = 0; i < headers.length; i++) if (isSecretHeader(headers[i]![0])) return true;
  return false;
}

/**
 * Returns the headers with secret values replaced, and the names replaced.
 * The input array is returned as is when nothing is secret (the common case costs no copy).
 */
export function redactHeaders(headers: Header[]): { headers: Header[]; names: string[] } {
  let out: Header[] | undefined;
  const names: string[] = [];
  for (let i = 0; i < headers.length; i++) {
    const [name] = headers[i]!;
    if (!isSecretHeader(name)) continue;
    out ??= headers.slice();
    out[i] = [name, REDACTED_VALUE];
    names.push(name.toLowerCase());
  }
  return { headers: out ?? headers, names };
}
