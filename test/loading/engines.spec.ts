import { readFileSync } from 'node:fs';
import semver from 'semver';
import { describe, expect, it } from 'vitest';

interface Manifest {
  engines: { node: string };
  dependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
}

interface LockedPackage extends Partial<Manifest> {
  version?: string;
  dev?: boolean;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
}

const read = <T>(path: string): T => JSON.parse(readFileSync(new URL(path, import.meta.url), 'utf8')) as T;
const lock = read<{ packages: Record<string, LockedPackage> }>('../../package-lock.json').packages;
const server = read<Manifest>('../../package.json');
const library = read<Manifest>('../../libs/storage/package.json');

/** The lockfile path a package `name` required from `from` resolves to (Node's lookup, upward). */
function resolve(name: string, from: string): string | undefined {
  for (let base = from; ; base = base.slice(0, Math.max(0, base.lastIndexOf('/node_modules/')))) {
    const path = `${base ? `${base}/` : ''}node_modules/${name}`;
    if (lock[path]) return path;
    if (!base) return undefined;
  }
}

/**
 * Every lockfile path reachable from `names` through dependencies, optional dependencies and
 * required peers (an optional peer of a package further down is the application's choice).
 */
function closure(names: string[]): string[] {
  const seen = new Set<string>();
  const queue = names.map((name) => resolve(name, '')).filter((path): path is string => path !== undefined);
  while (queue.length) {
    const path = queue.pop()!;
    if (seen.has(path)) continue;
    seen.add(path);
    const entry = lock[path];
    const peers = Object.keys(entry.peerDependencies ?? {}).filter((name) => !entry.peerDependenciesMeta?.[name]?.optional);
    for (const name of [...Object.keys({ ...entry.dependencies, ...entry.optionalDependencies }), ...peers]) {
      const found = resolve(name, path);
      if (found) queue.push(found);
    }
  }
  return [...seen];
}

/** The packages among `paths` whose `engines.node` does not admit every version of `range`. */
function refusing(paths: string[], range: string): string[] {
  return paths.flatMap((path) => {
    const entry = lock[path];
    const node = Array.isArray(entry.engines) ? undefined : entry.engines?.node;
    return node && !semver.subset(range, node) ? [`${path.replace(/^.*node_modules\//, '')}@${entry.version} declares node ${node}`] : [];
  });
}

describe('engines', () => {
  it('the reference server declares no Node version that one of its runtime packages refuses', () => {
    const runtime = Object.keys(lock).filter((path) => path && !lock[path].dev);
    expect(runtime.length).toBeGreaterThan(100);
    expect(refusing(runtime, server.engines.node)).toEqual([]);
  });

  it('the library declares no Node version that its dependencies, or the peers it supports, refuse', () => {
    const names = Object.keys({ ...library.dependencies, ...library.peerDependencies });
    const reachable = closure(names);
    expect(reachable.length).toBeGreaterThan(names.length);
    expect(refusing(reachable, library.engines.node)).toEqual([]);
  });

  it('a range wider than a package allows is caught', () => {
    // typeorm 1.1 declares ^20.19.0 || ^22.13.0 || >=24.11.0: 22.12 and 24.0 are outside it.
    expect(refusing([resolve('typeorm', '')!], '^20.19.0 || ^22.12.0 || >=24.0.0')).toHaveLength(1);
  });
});
