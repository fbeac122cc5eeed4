/**
 * Text of the files a private CRI-O instance runs from (its crio.conf, containers-storage's
 * storage.conf, registries.conf, the signature policy). Pure functions, so what the harness
 * writes can be read here. Every path CRI-O would otherwise share with the machine
 * (/var/lib/containers, /var/run/crio, /etc/cni/net.d, /var/run/netns, …) points into `dir`.
 */

export interface CrioConfigInput {
  /** Instance folder; keep it short: container_attach_socket_dir (dir + '/att') must stay ≤ 35 characters. */
  dir: string;
  socketPath: string;
  pinnsPath: string;
  /** The OCI runtime CRI-O runs: the runc wrapper's launcher. */
  runtimePath: string;
  /** Pulled from the local registry; its own command is the pause process (pause_command = ""). */
  pauseImage: string;
  cniConfDir: string;
  /** 'host:port' of registries served over plain HTTP. */
  insecureRegistries: string[];
  policyFile: string;
}

/** TOML basic strings are JSON-compatible for the paths and names used here. */
const q = (s: string): string => JSON.stringify(s);
const list = (xs: string[]): string => `[${xs.map(q).join(', ')}]`;

export const ATTACH_DIR_MAX = 35;

export function crioConfig(c: CrioConfigInput): string {
  const attachDir = `${c.dir}/att`;
  // conmon's attach socket is <dir>/<64-hex id>/attach; a unix socket path holds at most 107 bytes.
  if (attachDir.length > ATTACH_DIR_MAX) throw new Error(`critap: CRI-O attach socket dir ${attachDir} is longer than ${ATTACH_DIR_MAX} characters`);
  return [
    '[crio]',
    `root = ${q(`${c.dir}/storage`)}`,
    `runroot = ${q(`${c.dir}/run`)}`,
    'storage_driver = "overlay"',
    `log_dir = ${q(`${c.dir}/pod-logs`)}`,
    `version_file = ${q(`${c.dir}/run/crio-version`)}`,
    `version_file_persist = ${q(`${c.dir}/crio-version`)}`,
    `clean_shutdown_file = ${q(`${c.dir}/clean.shutdown`)}`,
    '',
    '[crio.api]',
    `listen = ${q(c.socketPath)}`,
    // Port 0: each instance gets its own streaming server port.
    'stream_address = "127.0.0.1"',
    'stream_port = "0"',
    '',
    '[crio.runtime]',
    'default_runtime = "runc"',
    // No systemd on these machines.
    'cgroup_manager = "cgroupfs"',
    'selinux = false',
    `pinns_path = ${q(c.pinnsPath)}`,
    `namespaces_dir = ${q(`${c.dir}/ns`)}`,
    `container_exits_dir = ${q(`${c.dir}/exits`)}`,
    `container_attach_socket_dir = ${q(attachDir)}`,
    `decryption_keys_path = ${q(`${c.dir}/keys`)}`,
    'hooks_dir = []',
    // The machine's default seccomp profile is not what a test asks for; an empty one means unconfined, as with containerd here.
    'seccomp_use_default_when_empty = false',
    '',
    '[crio.runtime.runtimes.runc]',
    `runtime_path = ${q(c.runtimePath)}`,
    'runtime_type = "oci"',
    `runtime_root = ${q(`${c.dir}/runc-root`)}`,
    'monitor_path = "/usr/bin/conmon"',
    'monitor_cgroup = "pod"',
    '',
    '[crio.image]',
    `pause_image = ${q(c.pauseImage)}`,
    'pause_command = ""',
    `signature_policy = ${q(c.policyFile)}`,
    `insecure_registries = ${list(c.insecureRegistries)}`,
    '',
    '[crio.network]',
    `network_dir = ${q(c.cniConfDir)}`,
    'plugin_dirs = ["/usr/lib/cni"]',
    '',
    '[crio.metrics]',
    'enable_metrics = false',
    '',
    '[crio.nri]',
    'enable_nri = false',
    '',
  ].join('\n');
}

export function storageConf(dir: string): string {
  return ['[storage]', 'driver = "overlay"', `graphroot = ${q(`${dir}/storage`)}`, `runroot = ${q(`${dir}/run`)}`, ''].join('\n');
}

/** No search registries: a short name such as `busybox` fails at once instead of going to Docker Hub. */
export function registriesConf(insecure: string[]): string {
  return [
    'unqualified-search-registries = []',
    ...insecure.flatMap((loc) => ['', '[[registry]]', `location = ${q(loc)}`, 'insecure = true']),
    '',
  ].join('\n');
}

/** Test images are unsigned. */
export const ACCEPT_ANYTHING_POLICY = `${JSON.stringify({ default: [{ type: 'insecureAcceptAnything' }] })}\n`;
