/**
 * A minimal, deterministic ustar writer: enough for image layers and docker-archive
 * tarballs. Every header field is fixed (owner root, one mtime), so the same entries
 * always give the same bytes and therefore the same digests.
 */

export type TarEntry =
  | { type: 'file'; name: string; mode: number; data: Buffer }
  | { type: 'dir'; name: string; mode: number }
  | { type: 'symlink'; name: string; target: string };

const BLOCK = 512;
/** 2024-01-01T00:00:00Z: any constant works; a plausible one reads better in `tar tv`. */
export const FIXED_MTIME = 1704067200;

export function tarArchive(entries: TarEntry[]): Buffer {
  const parts: Buffer[] = [];
  for (const e of entries) {
    const data = e.type === 'file' ? e.data : Buffer.alloc(0);
    parts.push(header(e, data.length));
    if (data.length > 0) {
      parts.push(data);
      const pad = (BLOCK - (data.length % BLOCK)) % BLOCK;
      if (pad) parts.push(Buffer.alloc(pad));
    }
  }
  parts.push(Buffer.alloc(BLOCK * 2)); // end-of-archive marker
  return Buffer.concat(parts);
}

function header(e: TarEntry, size: number): Buffer {
  const h = Buffer.alloc(BLOCK);
  const name = e.type === 'dir' && !e.name.endsWith('/') ? `${e.name}/` : e.name;
  const [prefix, base] = splitName(name);
  writeString(h, 0, 100, base);
  writeOctal(h, 100, 8, e.type === 'symlink' ? 0o777 : e.mode);
  writeOctal(h, 108, 8, 0); // uid
  writeOctal(h, 116, 8, 0); // gid
  writeOctal(h, 124, 12, size);
  writeOctal(h, 136, 12, FIXED_MTIME);
  h.fill(0x20, 148, 156); // checksum is computed with its own field as spaces
  h.write(e.type === 'file' ? '0' : e.type === 'dir' ? '5' : '2', 156, 'ascii');
  if (e.type === 'symlink') {
    if (Buffer.byteLength(e.target) > 100) throw new Error(`critap: tar: link target too long: ${e.target}`);
    writeString(h, 157, 100, e.target);
  }
  h.write('ustar\0', 257, 'ascii');
  h.write('00', 263, 'ascii');
  writeString(h, 265, 32, 'root');
  writeString(h, 297, 32, 'root');
  writeString(h, 345, 155, prefix);
  let sum = 0;
  for (const b of h) sum += b;
  h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'ascii');
  return h;
}

/** ustar keeps long paths as prefix + "/" + name (155 + 100 bytes). */
function splitName(name: string): [string, string] {
  if (Buffer.byteLength(name) <= 100) return ['', name];
  const cut = name.lastIndexOf('/', name.length - 2);
  const prefix = name.slice(0, cut);
  const base = name.slice(cut + 1);
  if (cut < 0 || Buffer.byteLength(prefix) > 155 || Buffer.byteLength(base) > 100) {
    throw new Error(`critap: tar: path too long for ustar: ${name}`);
  }
  return [prefix, base];
}

function writeString(h: Buffer, at: number, len: number, s: string): void {
  const b = Buffer.from(s, 'utf8');
  if (b.length > len) throw new Error(`critap: tar: field too long: ${s}`);
  b.copy(h, at);
}

function writeOctal(h: Buffer, at: number, len: number, n: number): void {
  const s = n.toString(8).padStart(len - 1, '0');
  if (s.length > len - 1) throw new Error(`critap: tar: number ${n} does not fit ${len} bytes`);
  h.write(`${s}\0`, at, 'ascii');
}
