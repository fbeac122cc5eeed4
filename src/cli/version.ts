import type { Command } from './main.js';
import { parseCommandArgs } from './args.js';
import { VERSION } from '../version.js';

export const command: Command = {
  help: `Usage: critap version [--json]

Prints critap's version, the Node.js version it runs on and the CRI API versions it knows.

Examples:
  critap version
  critap version --json
`,
  async run(argv) {
    const { values } = parseCommandArgs(argv, { json: { type: 'boolean' } });
    const info = { critap: VERSION, node: process.versions.node, cri: ['runtime.v1', 'runtime.v1alpha2'] };
    if (values.json) process.stdout.write(JSON.stringify(info) + '\n');
    else process.stdout.write(`critap ${info.critap} (node ${info.node}; CRI ${info.cri.join(', ')})\n`);
    return 0;
  },
};
