/**
 * `critap proxy` settings from three places, in order of precedence: command-line flags, then
 * environment variables (CRITAP_*), then a YAML config file (--config or CRITAP_CONFIG).
 * Every key is the flag's name, so the three read alike:
 *
 *   listen: unix:///run/critap/critap.sock
 *   upstream: unix:///run/containerd/containerd.sock
 *   record: /var/lib/critap/recording
 *   record-exclude: [ListContainerStats, ListPodSandboxStats]
 *   redact: ['runtime.v1.CreateContainerRequest:config.annotations']
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { UsageError } from './cli/args.js';

export type FlagKind = 'string' | 'boolean' | 'list';

export interface SettingSpec {
  kind: FlagKind;
  /** Environment variable, e.g. CRITAP_UPSTREAM. */
  env?: string;
}

export type Settings = Record<string, string | boolean | string[] | undefined>;

export function loadConfigFile(path: string, specs: Record<string, SettingSpec>): Settings {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new UsageError(`cannot read config file ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  let doc: unknown;
  try {
    // yaml is required here, when a config file is given: a proxy started by flags never loads it.
    const { parse } = createRequire(import.meta.url)('yaml') as typeof import('yaml');
    doc = parse(text);
  } catch (err) {
    throw new UsageError(`config file ${path} is not valid YAML: ${(err as Error).message.split('\n')[0]}`);
  }
  if (doc === null || doc === undefined) return {};
  if (typeof doc !== 'object' || Array.isArray(doc)) throw new UsageError(`config file ${path} must be a mapping of settings`);
  const out: Settings = {};
  for (const [key, value] of Object.entries(doc as Record<string, unknown>)) {
    const spec = specs[key];
    if (!spec) throw new UsageError(`config file ${path}: unknown setting "${key}" (known: ${Object.keys(specs).join(', ')})`);
    out[key] = coerce(value, spec.kind, `config file ${path}: setting "${key}"`);
  }
  return out;
}

function coerce(value: unknown, kind: FlagKind, where: string): string | boolean | string[] {
  if (kind === 'boolean') {
    if (typeof value === 'boolean') return value;
    if (value === 'true' || value === '1') return true;
    if (value === 'false' || value === '0' || value === '') return false;
    throw new UsageError(`${where} wants true or false, got ${JSON.stringify(value)}`);
  }
  if (kind === 'list') {
    if (Array.isArray(value)) return value.map(String);
    if (typeof value === 'string') return value.split(',').map((s) => s.trim()).filter(Boolean);
    throw new UsageError(`${where} wants a list, got ${JSON.stringify(value)}`);
  }
  if (typeof value === 'string' || typeof value === 'number') return String(value);
  throw new UsageError(`${where} wants a value, got ${JSON.stringify(value)}`);
}

export function settingsFromEnv(specs: Record<string, SettingSpec>, env: NodeJS.ProcessEnv = process.env): Settings {
  const out: Settings = {};
  for (const [key, spec] of Object.entries(specs)) {
    if (!spec.env) continue;
    const raw = env[spec.env];
    if (raw === undefined || raw === '') continue;
    out[key] = coerce(raw, spec.kind, `environment variable ${spec.env}`);
  }
  return out;
}

/** Flags win over the environment, which wins over the file. */
export function mergeSettings(...layers: Settings[]): Settings {
  const out: Settings = {};
  for (const layer of layers) {
    for (const [k, v] of Object.entries(layer)) if (v !== undefined && out[k] === undefined) out[k] = v;
  }
  return out;
}
