/**
 * Reading critest's ginkgo JSON report (`-ginkgo.json-report`) and comparing two runs by the
 * set of specs each passed: a spec's name is its container texts and its own text joined.
 */
import { readFileSync } from 'node:fs';

export type SpecState = 'passed' | 'failed' | 'skipped' | 'pending' | 'panicked' | 'interrupted' | 'aborted' | 'timedout' | string;

interface SpecReport {
  ContainerHierarchyTexts?: string[] | null;
  LeafNodeText?: string;
  LeafNodeType?: string;
  State?: SpecState;
}

/** Spec name → state, for the `It` specs of every suite in the report. */
export function readSpecStates(file: string): Map<string, SpecState> {
  const suites = JSON.parse(readFileSync(file, 'utf8')) as { SpecReports?: SpecReport[] | null }[];
  const states = new Map<string, SpecState>();
  for (const suite of suites) {
    for (const r of suite.SpecReports ?? []) {
      if (r.LeafNodeType !== 'It') continue;
      const name = [...(r.ContainerHierarchyTexts ?? []), r.LeafNodeText ?? ''].join(' ').trim();
      states.set(name, r.State ?? 'unknown');
    }
  }
  return states;
}

export interface Comparison {
  /** Every spec either run knows. */
  specs: string[];
  passedDirect: string[];
  passedThrough: string[];
  /** Passed directly but not through critap. */
  lostThrough: string[];
  /** Passed through critap but not directly. */
  gainedThrough: string[];
}

export function compareRuns(direct: Map<string, SpecState>, through: Map<string, SpecState>): Comparison {
  const specs = [...new Set([...direct.keys(), ...through.keys()])].sort();
  const passed = (m: Map<string, SpecState>) => specs.filter((s) => m.get(s) === 'passed');
  const passedDirect = passed(direct);
  const passedThrough = passed(through);
  return {
    specs,
    passedDirect,
    passedThrough,
    lostThrough: passedDirect.filter((s) => !passedThrough.includes(s)),
    gainedThrough: passedThrough.filter((s) => !passedDirect.includes(s)),
  };
}
