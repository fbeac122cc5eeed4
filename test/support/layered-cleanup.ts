/**
 * Cleanup in layers for a test: what was made last is undone first, and every layer runs even
 * when an earlier one fails (a stuck proxy must not leave a tmpfs mounted). The first failure is
 * reported once all ran.
 */
import type { TestContext } from 'node:test';

export type AddCleanup = (undo: () => unknown) => void;

export function layeredCleanup(t: TestContext): AddCleanup {
  const layers: Array<() => unknown> = [];
  t.after(async () => {
    const errors: unknown[] = [];
    for (const undo of layers.reverse()) {
      try {
        await undo();
      } catch (err) {
        errors.push(err);
      }
    }
    if (errors.length > 0) throw errors[0];
  });
  return (undo) => layers.push(undo);
}
