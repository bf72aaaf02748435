import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { ConfigurationError } from '../errors/index.js';
import type { StorageProviderClass } from '../contract/index.js';
import { definitionProblems } from '../providers/provider-types.js';
import { resolveStorageOptions } from './resolve-options.js';
import type { StorageModuleOptions } from './storage-options.js';
import { camelToSnake } from './validate.js';

const VARIABLE = /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;

/**
 * Replaces `${VAR}` and `${VAR:-default}` in every string of a parsed document. Interpolation
 * runs on values after parsing, so a variable can never inject YAML structure.
 */
export function interpolateEnv(
  value: unknown,
  env: Record<string, string | undefined>,
  path = '',
  problems: string[] = [],
): unknown {
  if (typeof value === 'string') {
    return value.replace(VARIABLE, (_match, name: string, fallback: string | undefined) => {
      const found = env[name];
      if (found !== undefined && found !== '') return found;
      if (fallback !== undefined) return fallback;
      problems.push(`${path || '(root)'}: environment variable ${name} is not set (use \${${name}:-default} for a default)`);
      return '';
    });
  }
  if (Array.isArray(value)) return value.map((item, i) => interpolateEnv(item, env, `${path}[${i}]`, problems));
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value).map(([key, item]) => [key, interpolateEnv(item, env, path ? `${path}.${key}` : key, problems)]),
    );
  }
  return value;
}

const snakeToCamel = (name: string) => name.replace(/_([a-z0-9])/g, (_m, c: string) => c.toUpperCase());

function camelKeys(value: unknown): unknown {
  if (!value || typeof value !== 'object' || Array.isArray(value)) return value;
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [snakeToCamel(k), v]));
}

/** camelKeys two levels deep: a `resilience` block holds `timeouts`, `circuit_breaker` and `retry` maps. */
function resilienceKeys(value: unknown): unknown {
  const top = camelKeys(value);
  if (!top || typeof top !== 'object' || Array.isArray(top)) return top;
  return Object.fromEntries(Object.entries(top).map(([k, v]) => [k, camelKeys(v)]));
}

/**
 * Maps the YAML shape (`default_provider`, `routing_rules`, ...) to StorageModuleOptions.
 * Provider names, artifact type names and each provider's `config` block keep their spelling.
 */
export function fromYamlShape(document: Record<string, unknown>): StorageModuleOptions {
  const top = camelKeys(document) as Record<string, unknown>;
  const providers = top.providers;
  if (providers && typeof providers === 'object' && !Array.isArray(providers)) {
    top.providers = Object.fromEntries(
      Object.entries(providers).map(([name, definition]) => {
        const camel = camelKeys(definition) as Record<string, unknown> | undefined;
        if (camel?.resilience) camel.resilience = resilienceKeys(camel.resilience);
        return [name, camel];
      }),
    );
  }
  if (Array.isArray(top.routingRules)) {
    top.routingRules = top.routingRules.map((rule) => {
      const camel = camelKeys(rule) as Record<string, unknown>;
      if (camel.condition) camel.condition = camelKeys(camel.condition);
      return camel;
    });
  }
  for (const key of ['cleanup', 'signedUrls', 'retry', 'contentValidation']) {
    if (top[key]) top[key] = camelKeys(top[key]);
  }
  if (top.resilience) top.resilience = resilienceKeys(top.resilience);
  return top as unknown as StorageModuleOptions;
}

export interface StorageConfigCheckOptions {
  /**
   * The custom provider types the app registers (StorageModule's `providerTypes`), all of them.
   * Given, even empty, the file's types are checked when it is read: an unknown type is a problem
   * like any other, and the config blocks of custom types are validated too. Without it, a type
   * that is not built in is left to the module, which knows the registered types at boot.
   */
  providerTypes?: StorageProviderClass[];
}

/**
 * Reads a `storage.yaml` in the design document's shape (a top-level `storage:` key, or the
 * block itself), interpolates the environment and validates it. Synchronous, so it can feed
 * `StorageModule.forRoot()` directly. Throws one ConfigurationError listing every problem.
 */
export function loadStorageConfig(
  file: string,
  env: Record<string, string | undefined> = process.env,
  check: StorageConfigCheckOptions = {},
): StorageModuleOptions {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new ConfigurationError(`Cannot read storage configuration ${file}: ${(error as Error).message}`, [], { cause: error });
  }
  return parseStorageConfig(text, env, file, check);
}

export function parseStorageConfig(
  text: string,
  env: Record<string, string | undefined> = process.env,
  source = 'storage configuration',
  check: StorageConfigCheckOptions = {},
): StorageModuleOptions {
  let document: unknown;
  try {
    document = parse(text);
  } catch (error) {
    throw new ConfigurationError(`${source} is not valid YAML: ${(error as Error).message}`, [], { cause: error });
  }
  if (!document || typeof document !== 'object' || Array.isArray(document)) {
    throw new ConfigurationError(`${source} must hold a mapping`);
  }
  const root = (document as Record<string, unknown>).storage ?? document;
  const problems: string[] = [];
  const interpolated = interpolateEnv(root, env, '', problems) as Record<string, unknown>;
  if (problems.length) throw new ConfigurationError(`Invalid ${source}:`, problems);
  const options = fromYamlShape(interpolated);
  // Fail early, in the file's own names, with every problem: the options themselves (cleanup
  // schedule included), the config blocks of built-in types (signing and encryption keys
  // included) and, when the custom types are given, unknown types. Missing SDKs are found at boot.
  try {
    resolveStorageOptions(options, camelToSnake, source);
  } catch (error) {
    if (!(error instanceof ConfigurationError)) throw error;
    problems.push(...error.problems);
  }
  problems.push(...definitionProblems(options.providers, check.providerTypes));
  if (problems.length) throw new ConfigurationError(`Invalid ${source}:`, problems);
  return options;
}
