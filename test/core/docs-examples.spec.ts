import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { BUILT_IN_PROVIDER_TYPES, parseStorageConfig } from '@app/storage';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** Every storage configuration the docs and the shipped files show: [where, YAML text]. */
function examples(): [string, string][] {
  const found: [string, string][] = [];
  const markdown = ['README.md', ...readdirSync(join(ROOT, 'docs')).filter((name) => name.endsWith('.md')).map((name) => `docs/${name}`)];
  for (const file of markdown) {
    const text = readFileSync(join(ROOT, file), 'utf8');
    for (const match of text.matchAll(/```ya?ml\n([\s\S]*?)```/g)) {
      found.push([`${file}:${text.slice(0, match.index).split('\n').length}`, match[1]]);
    }
  }
  for (const file of readdirSync(join(ROOT, 'config')).filter((name) => name.endsWith('.yaml'))) {
    found.push([`config/${file}`, readFileSync(join(ROOT, 'config', file), 'utf8')]);
  }
  const manifests = (dir: string): string[] =>
    readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
      entry.isDirectory() ? manifests(join(dir, entry.name)) : entry.name.endsWith('.yaml') ? [join(dir, entry.name)] : [],
    );
  for (const file of manifests(join(ROOT, 'deploy'))) {
    readFileSync(file, 'utf8')
      .split(/^---$/m)
      .forEach((document, index) => found.push([`${relative(ROOT, file)}#${index}`, document]));
  }
  return found;
}

/**
 * Stands in for the environment an example reads: each variable it uses without a default gets
 * a URL where a URL is expected, else a long secret; the others take their defaults.
 */
function environmentFor(text: string): Record<string, string> {
  const names = [...text.matchAll(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g)].map((match) => match[1]);
  return Object.fromEntries(names.map((name) => [name, /URL|ENDPOINT/.test(name) ? 'https://example.test' : Buffer.alloc(32, 7).toString('base64')]));
}

/**
 * The storage configurations inside a YAML document: the document itself (or its `storage`
 * block) when it configures storage, and the storage.yaml files a Kubernetes ConfigMap carries.
 */
function storageConfigs(document: unknown): Record<string, unknown>[] {
  if (!document || typeof document !== 'object') return [];
  const record = document as Record<string, unknown>;
  if (record.kind === 'ConfigMap') {
    return Object.entries((record.data ?? {}) as Record<string, string>)
      .filter(([name]) => name.endsWith('.yaml'))
      .flatMap(([, text]) => storageConfigs(parse(text)));
  }
  const root = (record.storage ?? record) as Record<string, unknown>;
  const storageKeys = ['default_provider', 'providers', 'routing_rules', 'cleanup', 'max_file_size', 'allowed_content_types', 'content_validation', 'resilience'];
  return Object.keys(root).some((key) => storageKeys.includes(key)) ? [root] : [];
}

/** Provider types a reader can use: the built-in ones and the custom type docs/custom-providers.md builds. */
const KNOWN_TYPES = [...Object.keys(BUILT_IN_PROVIDER_TYPES), 'hashed-folder'];

/**
 * Completes a fragment the way a reader would. The docs often show one provider or one block: a
 * provider shown without its `config` stands for one configured elsewhere (it becomes `memory`,
 * once its type is checked to exist), and the providers that rules, fallbacks and the default
 * name are added as `memory`. A provider shown with its `config` is checked as it is.
 */
function completed(root: Record<string, unknown>): Record<string, unknown> {
  const providers: Record<string, Record<string, unknown>> = {};
  for (const [name, definition] of Object.entries((root.providers ?? {}) as Record<string, Record<string, unknown>>)) {
    expect(KNOWN_TYPES, `providers.${name}.type`).toContain(definition.type);
    providers[name] = 'config' in definition ? definition : { ...definition, type: 'memory' };
  }
  const named = [
    root.default_provider,
    ...((root.routing_rules ?? []) as { provider?: string }[]).map((rule) => rule?.provider),
    ...Object.values(providers).flatMap((definition) => (definition.fallbacks ?? []) as string[]),
  ];
  for (const name of named) {
    if (typeof name === 'string' && !(name in providers)) providers[name] = { type: 'memory' };
  }
  if (Object.keys(providers).length === 0) providers.example = { type: 'memory' };
  return { ...root, default_provider: root.default_provider ?? Object.keys(providers)[0], providers };
}

describe('configuration examples in the docs and shipped files', () => {
  const all = examples();
  const checked: string[] = [];

  it.each(all)('%s validates', (_where, text) => {
    // `config: { ... }` elides a provider's config (the provider then stands for one configured
    // elsewhere); any other `{ ... }` elides optional keys.
    const document = parse(text.replace(/^\s*config: \{ \.\.\. \}.*$/gm, '').replace(/\{ \.\.\. \}/g, '{}'));
    for (const root of storageConfigs(document)) {
      expect(() => parseStorageConfig(stringify({ storage: completed(root) }), environmentFor(text))).not.toThrow();
      checked.push(_where);
    }
  });

  it('covers the shipped storage.yaml, the manifests and the docs', () => {
    expect(checked).toContain('config/storage.yaml');
    expect(checked.filter((where) => where.startsWith('deploy/')).length).toBeGreaterThan(0);
    expect(checked.filter((where) => where.startsWith('docs/')).length).toBeGreaterThan(10);
  });
});

describe('the complete custom provider in docs/custom-providers.md', () => {
  it('is the class the conformance suite runs, whole (only the package name differs)', () => {
    const doc = readFileSync(join(ROOT, 'docs/custom-providers.md'), 'utf8');
    const section = doc.slice(doc.indexOf('## A complete example'));
    const listing = /```ts\n([\s\S]*?)```/.exec(section)?.[1];
    const tested = readFileSync(join(ROOT, 'test/conformance/custom-provider.ts'), 'utf8');
    expect(listing).toBe(tested.replace("from '@app/storage';", "from '@boards/storage';"));
  });
});
