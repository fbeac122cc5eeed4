import type { Command } from './main.js';
import { UsageError, parseCommandArgs } from './args.js';
import { adminRequest } from '../fault/admin.js';
import { parseFaultRule, FAULT_RULE_HELP } from '../fault/rule.js';
import type { FaultRuleState } from '../fault/set.js';

const HELP = `Usage: critap fault list|add <rule>|remove <id>|clear --admin <endpoint> [--json]

Changes the fault rules of a running critap proxy or critap replay started with --admin <endpoint>,
without a restart: the clients' connections stay up.

  list            each rule with its id, how many calls it matched and how often it fired
  add <rule>      a new rule; ${FAULT_RULE_HELP}
  remove <id>     drop one rule (ids from list)
  clear           drop every rule

Flags:
  --admin <endpoint>   the process's admin socket, e.g. /run/critap/admin.sock
  --json               list as JSON

Examples:
  critap fault add 'method=RunPodSandbox,error=UNAVAILABLE,message=injected,count=2' --admin /tmp/admin.sock
  critap fault add 'method=PullImage,delay=30s' --admin /tmp/admin.sock
  critap fault list --admin /tmp/admin.sock
  critap fault clear --admin /tmp/admin.sock
`;

const FLAGS = { admin: { type: 'string' }, json: { type: 'boolean' } } as const;

function ask(admin: string, req: Parameters<typeof adminRequest>[1]): Promise<Record<string, unknown>> {
  return adminRequest(admin, req).then((res) => {
    if (res.ok !== true) throw new Error(String(res.error));
    return res;
  });
}

export const command: Command = {
  help: HELP,
  async run(argv) {
    const { values: v, positionals } = parseCommandArgs(argv, FLAGS);
    const [op, arg, extra] = positionals;
    if (!op) throw new UsageError('what? list, add <rule>, remove <id> or clear');
    if (!v.admin) throw new UsageError('--admin <endpoint> is required: the admin socket of the running critap proxy or replay');
    if (extra !== undefined) throw new UsageError(`unexpected argument "${extra}"`);
    const admin = v.admin;
    switch (op) {
      case 'list': {
        if (arg !== undefined) throw new UsageError(`list takes no argument, got "${arg}"`);
        const rules = (await ask(admin, { op: 'list' })).rules as FaultRuleState[];
        if (v.json) process.stdout.write(JSON.stringify(rules, null, 2) + '\n');
        else if (rules.length === 0) process.stdout.write('no fault rules\n');
        else for (const r of rules) process.stdout.write(`${r.id}\t${r.rule}\tmatched ${r.matched}, fired ${r.fired}${r.spent ? ' (spent)' : ''}\n`);
        return 0;
      }
      case 'add': {
        if (arg === undefined) throw new UsageError(`add wants a rule; ${FAULT_RULE_HELP}`);
        try {
          parseFaultRule(arg);
        } catch (err) {
          throw new UsageError((err as Error).message);
        }
        const res = await ask(admin, { op: 'add', rule: arg });
        process.stdout.write(`added rule ${String(res.id)}\n`);
        return 0;
      }
      case 'remove': {
        if (arg === undefined || !/^\d+$/.test(arg)) throw new UsageError('remove wants a rule id (see critap fault list)');
        await ask(admin, { op: 'remove', id: Number(arg) });
        process.stdout.write(`removed rule ${arg}\n`);
        return 0;
      }
      case 'clear': {
        const res = await ask(admin, { op: 'clear' });
        process.stdout.write(`removed ${String(res.removed)} rule(s)\n`);
        return 0;
      }
      default:
        throw new UsageError(`unknown fault command "${op}": list, add, remove or clear`);
    }
  },
};
