/**
 * The seed walkthrough driven by the real crictl (v1.26): the same pod life as walkthrough.ts, but
 * with the CRI client users actually type at, over its own flags (--runtime-endpoint,
 * --image-endpoint, a temp --config file) and with JSON output where crictl has it. Every step's
 * exit code, stdout and stderr are kept so two runs (straight, through critap, from a replay) can
 * be compared step by step.
 */
import { execFile } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export interface CrictlResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface Crictl {
  configFile: string;
  run(args: string[]): Promise<CrictlResult>;
}

/** A crictl bound to one endpoint, with a config file of its own in `dir` (no /etc/crictl.yaml). */
export async function makeCrictl(bin: string, endpoint: string, dir: string): Promise<Crictl> {
  await mkdir(dir, { recursive: true });
  const configFile = join(dir, 'crictl.yaml');
  // The flags below set the endpoints; the file holds the rest, so neither the machine's config nor a default endpoint is used.
  await writeFile(configFile, ['timeout: 30', 'debug: false', 'pull-image-on-create: false', 'disable-pull-on-run: true', ''].join('\n'));
  const base = ['--config', configFile, '--runtime-endpoint', endpoint, '--image-endpoint', endpoint];
  return {
    configFile,
    run: (args) =>
      new Promise((resolve) => {
        execFile(bin, [...base, ...args], { timeout: 60_000, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
          const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code) : -1) : 0;
          resolve({ code, stdout, stderr });
        });
      }),
  };
}

export interface CrictlStep extends CrictlResult {
  /** crictl's subcommand and the flags that matter, e.g. 'inspectp -o json'. */
  name: string;
  /** stdout parsed, for the steps that print JSON. */
  json?: unknown;
}

export interface CrictlWalkOptions {
  image: string;
  /** Holds the pod/container config files and the pod's log folder; same folder ⇒ same requests. */
  workDir: string;
  podName?: string;
}

/** The files `crictl runp` / `create` read: a pod and a busybox container that sleeps. */
export async function writeWalkConfigs(opts: CrictlWalkOptions): Promise<{ pod: string; container: string }> {
  await mkdir(join(opts.workDir, 'pod-logs'), { recursive: true });
  const pod = join(opts.workDir, 'pod.json');
  const container = join(opts.workDir, 'container.json');
  await writeFile(pod, JSON.stringify({
    metadata: { name: opts.podName ?? 'critap-crictl', uid: 'critap-crictl-uid', namespace: 'critap-e2e', attempt: 0 },
    log_directory: join(opts.workDir, 'pod-logs'),
    labels: { app: 'critap-crictl' },
    linux: {},
  }));
  await writeFile(container, JSON.stringify({
    metadata: { name: 'sleeper', attempt: 0 },
    image: { image: opts.image },
    command: ['sleep', '3600'],
    envs: [{ key: 'GREETING', value: 'hello' }],
    log_path: 'sleeper.log',
    linux: {},
  }));
  return { pod, container };
}

/**
 * pull, runp, create, start, inspectp, inspect, exec -s, exec, ps, pods, images, stop, rm, stopp,
 * rmp, rmi. A failed step is kept and the walk goes on, except after runp or create: every later
 * step needs the id they print.
 */
export async function crictlWalk(crictl: Crictl, opts: CrictlWalkOptions): Promise<CrictlStep[]> {
  const files = await writeWalkConfigs(opts);
  const steps: CrictlStep[] = [];
  let failed = false;
  const step = async (name: string, args: string[], json = false, givesId = false): Promise<string> => {
    if (failed) return '';
    const r = await crictl.run(args);
    const s: CrictlStep = { name, ...r };
    if (r.code === 0 && json) s.json = JSON.parse(r.stdout);
    steps.push(s);
    if (r.code !== 0 && givesId) failed = true;
    return r.stdout.trim();
  };
  await step('pull', ['pull', opts.image]);
  const podId = await step('runp', ['runp', files.pod], false, true);
  const ctrId = await step('create', ['create', podId, files.container, files.pod], false, true);
  await step('start', ['start', ctrId]);
  await step('inspectp -o json', ['inspectp', '-o', 'json', podId], true);
  await step('inspect -o json', ['inspect', '-o', 'json', ctrId], true);
  await step('exec -s', ['exec', '-s', ctrId, 'sh', '-c', 'echo hi; echo $GREETING >&2']);
  await step('exec', ['exec', ctrId, 'echo', 'hi from the stream']);
  await step('ps -a -o json', ['ps', '-a', '-o', 'json'], true);
  await step('pods -o json', ['pods', '-o', 'json'], true);
  await step('images -o json', ['images', '-o', 'json'], true);
  await step('stop', ['stop', '--timeout', '0', ctrId]);
  await step('rm', ['rm', ctrId]);
  await step('stopp', ['stopp', podId]);
  await step('rmp', ['rmp', podId]);
  await step('rmi', ['rmi', opts.image]);
  return steps;
}

// ---- comparing two walks -------------------------------------------------------------------

const TIME_KEYS = new Set(['createdAt', 'startedAt', 'finishedAt', 'created_at', 'started_at', 'finished_at', 'created', 'io.kubernetes.cri-o.Created']);
/** CRI-O names each pod's host after its sandbox id. */
const HOSTNAME_KEYS = new Set(['hostname', 'io.kubernetes.cri-o.HostName']);
/** Lists whose order the runtime does not define. */
const UNORDERED_KEYS = new Set(['items', 'containers', 'images']);

/**
 * What differs between two direct runs of the same walk on the same runtime, and only that:
 * generated ids, times, pids (also in /proc/<pid>/ns paths), pod IPs, MAC addresses, veth names,
 * network namespace names, and list order where the runtime walks a map. JSON objects are compared
 * as maps (key order, e.g. of annotations, never matters to deepEqual).
 */
export function maskRunSpecifics(value: unknown, key = ''): unknown {
  if (TIME_KEYS.has(key) && (typeof value === 'string' || typeof value === 'number')) return '<time>';
  if (key === 'pid' && typeof value === 'number') return '<pid>';
  if (HOSTNAME_KEYS.has(key) && typeof value === 'string') return '<hostname>';
  if (typeof value === 'string') {
    // CRI-O keeps labels and annotations as JSON text in annotations (Go map order): compare them as maps.
    if (value.startsWith('{') && value.endsWith('}')) {
      try {
        return { '<json>': maskRunSpecifics(JSON.parse(value)) };
      } catch {
        // not JSON after all
      }
    }
    return maskText(value);
  }
  if (Array.isArray(value)) {
    const items = value.map((v) => maskRunSpecifics(v));
    return UNORDERED_KEYS.has(key) ? items.sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b))) : items;
  }
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[maskText(k)] = maskRunSpecifics(v, k);
    return out;
  }
  return value;
}

export function maskText(s: string): string {
  return s
    .replace(/[0-9a-f]{64}/g, '<id>')
    .replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g, '<uuid>')
    .replace(/\/proc\/\d+\//g, '/proc/<pid>/')
    .replace(/\b10\.88\.\d{1,3}\.\d{1,3}\b/g, '<pod-ip>')
    .replace(/\b[0-9a-f]{2}(:[0-9a-f]{2}){5}\b/g, '<mac>')
    .replace(/\bveth[0-9a-f]{8}\b/g, '<veth>')
    .replace(/^HOSTNAME=[0-9a-f]{12}$/, 'HOSTNAME=<hostname>');
}

/** A step as compared: exit code, stdout (parsed when JSON) and stderr, masked. */
export function comparable(s: CrictlStep): unknown {
  return maskRunSpecifics({ name: s.name, code: s.code, stdout: s.json ?? s.stdout, stderr: s.stderr });
}

/** Paths at which two masked values differ (for messages and for finding what a mask must cover). */
export function differences(a: unknown, b: unknown, path = '', out: string[] = []): string[] {
  if (out.length > 20) return out;
  if (a && b && typeof a === 'object' && typeof b === 'object') {
    const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
    for (const k of keys) differences((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], `${path}.${k}`, out);
  } else if (JSON.stringify(a) !== JSON.stringify(b)) {
    out.push(`${path}: ${JSON.stringify(a)?.slice(0, 160)} ≠ ${JSON.stringify(b)?.slice(0, 160)}`);
  }
  return out;
}

/**
 * The seed's `crictl runp --runtime <handler>`: a pod sandbox on another runtime handler, looked
 * at, stopped and removed (no container: under gVisor here starting one hangs).
 */
export async function crictlHandlerWalk(crictl: Crictl, handler: string, opts: CrictlWalkOptions, whileReady?: () => void): Promise<CrictlStep[]> {
  const { pod } = await writeWalkConfigs(opts);
  const steps: CrictlStep[] = [];
  const step = async (name: string, args: string[], json = false): Promise<CrictlStep> => {
    const r = await crictl.run(args);
    const s: CrictlStep = { name, ...r, ...(r.code === 0 && json ? { json: JSON.parse(r.stdout) } : {}) };
    steps.push(s);
    return s;
  };
  const runp = await step(`runp --runtime ${handler}`, ['runp', '--runtime', handler, pod]);
  if (runp.code !== 0) return steps;
  const podId = runp.stdout.trim();
  await step('inspectp -o json', ['inspectp', '-o', 'json', podId], true);
  whileReady?.();
  await step('stopp', ['stopp', podId]);
  await step('rmp', ['rmp', podId]);
  return steps;
}
