// A node:test reporter that keeps only what a reader of a long run wants at its end: one line
// per test file (its top-level tests passed/failed/skipped and its time), the names of the tests
// that failed, node's own totals (`# pass N`, `# fail N`, ...) and a plain `N passed, N failed`.
// scripts/run-tests.js prints it after node's spec reporter, so these are the output's last lines.
import { relative } from 'node:path';

export default async function* summary(source) {
  const files = new Map();
  const failed = [];
  const totals = new Map();
  const fileOf = (data) => {
    const name = data.file ? relative(process.cwd(), data.file) : '(no file)';
    let f = files.get(name);
    if (!f) files.set(name, (f = { pass: 0, fail: 0, skip: 0, ms: 0 }));
    return f;
  };
  for await (const event of source) {
    const data = event.data;
    if (event.type === 'test:diagnostic' && data.nesting === 0 && !data.file) {
      const m = /^(tests|suites|pass|fail|cancelled|skipped|todo|duration_ms) (\S+)$/.exec(data.message);
      if (m) totals.set(m[1], m[2]);
    } else if ((event.type === 'test:pass' || event.type === 'test:fail') && data.nesting === 0) {
      const f = fileOf(data);
      f.ms += data.details?.duration_ms ?? 0;
      if (data.skip || data.todo) f.skip++;
      else if (event.type === 'test:pass') f.pass++;
      else f.fail++;
    }
    if (event.type === 'test:fail' && !(data.details?.error?.failureType === 'subtestsFailed')) {
      failed.push(`${data.file ? relative(process.cwd(), data.file) : ''} › ${data.name}`);
    }
  }
  yield '\nper file (top-level tests):\n';
  for (const [name, f] of [...files].sort(([a], [b]) => a.localeCompare(b))) {
    const mark = f.fail > 0 ? '✖' : '✔';
    const skipped = f.skip > 0 ? `, ${f.skip} skipped` : '';
    yield `${mark} ${name}: ${f.pass} passed, ${f.fail} failed${skipped} (${(f.ms / 1000).toFixed(1)} s)\n`;
  }
  if (failed.length > 0) {
    yield '\nfailed:\n';
    for (const f of failed) yield `  ✖ ${f}\n`;
  }
  yield '\n';
  for (const [k, v] of totals) yield `# ${k} ${v}\n`;
  const pass = totals.get('pass');
  const fail = totals.get('fail');
  if (pass !== undefined && fail !== undefined) yield `${pass} passed, ${fail} failed\n`;
}
