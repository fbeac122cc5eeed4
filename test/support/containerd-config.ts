/**
 * Text of the files a private containerd instance runs from: its config.toml and a
 * CNI bridge network. Pure functions, so what the harness writes can be read here.
 */

export interface ContainerdConfigInput {
  /** Instance folder; root, state, opt and CNI config live under it. */
  dir: string;
  socketPath: string;
  sandboxImage: string;
  cniConfDir: string;
  /** 'host:port' of registries served over plain HTTP. */
  insecureRegistries: string[];
  /** Runtime handlers beside the default 'runc' (RunPodSandboxRequest.runtime_handler names one). */
  extraHandlers?: ExtraRuntimeHandler[];
}

/** A handler run by the runc shim with another OCI runtime binary in place of runc. */
export interface ExtraRuntimeHandler {
  name: string;
  /** The OCI runtime the shim calls instead of runc (options.BinaryName). */
  binaryName: string;
  /** Its state folder (options.Root); keeps it out of the machine's /run/containerd/runc. */
  root?: string;
}

const CRI = 'plugins."io.containerd.grpc.v1.cri"';

/** TOML basic strings are JSON-compatible for the paths and names used here. */
const q = (s: string): string => JSON.stringify(s);

export function containerdConfig(c: ContainerdConfigInput): string {
  const mirrors = c.insecureRegistries.flatMap((reg) => [
    `[${CRI}.registry.mirrors.${q(reg)}]`,
    `  endpoint = [${q(`http://${reg}`)}]`,
  ]);
  const handlers = (c.extraHandlers ?? []).flatMap((h) => [
    `[${CRI}.containerd.runtimes.${q(h.name)}]`,
    '  runtime_type = "io.containerd.runc.v2"',
    `[${CRI}.containerd.runtimes.${q(h.name)}.options]`,
    `  BinaryName = ${q(h.binaryName)}`,
    ...(h.root ? [`  Root = ${q(h.root)}`] : []),
    '',
  ]);
  return [
    'version = 2',
    `root = ${q(`${c.dir}/root`)}`,
    `state = ${q(`${c.dir}/state`)}`,
    '',
    '[grpc]',
    `  address = ${q(c.socketPath)}`,
    '',
    // The default /opt/containerd would be shared by every instance on the machine.
    '[plugins."io.containerd.internal.v1.opt"]',
    `  path = ${q(`${c.dir}/opt`)}`,
    '',
    `[${CRI}]`,
    `  sandbox_image = ${q(c.sandboxImage)}`,
    // Required here: runc may not set oom_score_adj = -998, and without this every
    // RunPodSandbox fails with "can't get final child's PID from pipe: EOF".
    '  restrict_oom_score_adj = true',
    // Port 0: each instance gets its own streaming server port (the default 10010 would collide).
    '  stream_server_address = "127.0.0.1"',
    '  stream_server_port = "0"',
    '',
    `[${CRI}.containerd]`,
    '  default_runtime_name = "runc"',
    '  snapshotter = "overlayfs"',
    '',
    `[${CRI}.containerd.runtimes.runc]`,
    '  runtime_type = "io.containerd.runc.v2"',
    '',
    ...handlers,
    `[${CRI}.cni]`,
    '  bin_dir = "/usr/lib/cni"',
    `  conf_dir = ${q(c.cniConfDir)}`,
    '  max_conf_num = 1',
    '',
    // No credentials here on purpose: tests pass them in PullImage's AuthConfig.
    ...mirrors,
    '',
  ].join('\n');
}

export interface CniNetworkInput {
  name: string;
  bridge: string;
  /** e.g. '10.88.7.0/24' */
  subnet: string;
  /** host-local IPAM's lease folder; kept inside the instance folder. */
  ipamDataDir: string;
}

export function cniConflist(n: CniNetworkInput): string {
  return `${JSON.stringify(
    {
      cniVersion: '1.0.0',
      name: n.name,
      plugins: [
        {
          type: 'bridge',
          bridge: n.bridge,
          isGateway: true,
          // No masquerading: pods only talk to this host, and no iptables rules are left behind.
          ipMasq: false,
          hairpinMode: true,
          ipam: {
            type: 'host-local',
            ranges: [[{ subnet: n.subnet }]],
            routes: [{ dst: '0.0.0.0/0' }],
            dataDir: n.ipamDataDir,
          },
        },
      ],
    },
    null,
    2,
  )}\n`;
}
