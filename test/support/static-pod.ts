/**
 * THE static pod of the kubelet tests, the kubelet recording and the replay tests that run a
 * kubelet against that recording: two busybox containers, one serving HTTP (`busybox httpd`),
 * one sleeping with an exec readiness probe. Names are fixed strings so a later kubelet run
 * writes the identical pod (static pod uids are a hash of the manifest and the node name).
 */
import { stringify } from 'yaml';

export const STATIC_POD = {
  /** The manifest's name; the kubelet calls the pod `<name>-<nodeName>`. */
  name: 'critap-web',
  namespace: 'default',
  nodeName: 'critap-node',
  httpdContainer: 'httpd',
  sleepContainer: 'sleeper',
  httpPort: 8080,
  /** What httpd serves at `/`. */
  indexText: 'critap static pod\n',
  /** The probe's file: the probe fails until the sleeper has written it. */
  readyFile: '/tmp/ready',
} as const;

export const staticPodFullName = (nodeName: string = STATIC_POD.nodeName): string => `${STATIC_POD.name}-${nodeName}`;

/**
 * The manifest. `image` is a busybox image (test/support/image.ts) by its full registry
 * reference; IfNotPresent makes the kubelet ask ImageStatus first and pull only when missing.
 */
export function staticPodManifest(image: string): string {
  const p = STATIC_POD;
  return stringify({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: p.name, namespace: p.namespace, labels: { app: p.name } },
    spec: {
      // busybox as pid 1 ignores SIGTERM: without this each stop waits the default 30 s for SIGKILL.
      terminationGracePeriodSeconds: 2,
      containers: [
        {
          name: p.httpdContainer,
          image,
          imagePullPolicy: 'IfNotPresent',
          command: ['sh', '-c', `printf '${p.indexText.replace('\n', '\\n')}' > /www/index.html && exec httpd -f -p ${p.httpPort} -h /www`],
          ports: [{ containerPort: p.httpPort, protocol: 'TCP' }],
        },
        {
          name: p.sleepContainer,
          image,
          imagePullPolicy: 'IfNotPresent',
          command: ['sh', '-c', `touch ${p.readyFile} && exec sleep 2147483647`],
          readinessProbe: {
            exec: { command: ['test', '-f', p.readyFile] },
            periodSeconds: 5,
            timeoutSeconds: 2,
          },
        },
      ],
    },
  });
}
