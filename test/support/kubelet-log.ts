/**
 * Reading a kubelet's klog output (stderr) for what a test compares: the CRI errors it
 * logged. klog lines look like
 *   E1201 23:38:46.123456   4242 remote_runtime.go:479] "ListContainers with filter from runtime service failed" err="rpc error: code = Unavailable desc = …" filter="…"
 * A kind of error is its source line, its message and its gRPC code: ids, times and
 * details differ between two runs of the same pod, the kind does not.
 */

const KLOG_ERROR = /^E\d{4} [\d:.]+\s+\d+ ([\w.-]+:\d+)\] (.*)$/;

/** Is this error line about the CRI (a failed runtime/image call, or a gRPC status the kubelet got)? */
function aboutCri(source: string, text: string): boolean {
  return /^remote_(runtime|image)\.go:/.test(source) || /rpc error: code = /.test(text);
}

/** The kinds of CRI error in a kubelet log, sorted, each once: `<file:line> <message> [code]`. */
export function criErrorKinds(log: string): string[] {
  const kinds = new Set<string>();
  for (const line of log.split('\n')) {
    const m = KLOG_ERROR.exec(line);
    if (!m || !aboutCri(m[1]!, m[2]!)) continue;
    const message = /^"((?:[^"\\]|\\.)*)"/.exec(m[2]!)?.[1] ?? m[2]!.slice(0, 80);
    const code = /rpc error: code = (\w+)/.exec(m[2]!)?.[1] ?? '-';
    kinds.add(`${m[1]} ${message} [${code}]`);
  }
  return [...kinds].sort();
}
