import { getProviderTypeMetadata, type StorageProviderClass } from '../contract/index.js';
import { validatePlain } from '../config/validate.js';
import { BUILT_IN_PROVIDER_TYPES, builtInType } from './builtin-types.js';

/** A provider definition as configured, before or after the module's own validation. */
type DefinitionLike = { type?: unknown; config?: unknown };

/** The definitions that name a type, the only ones whose type and config can be checked. */
export function typedDefinitions(providers: unknown): [string, { type: string; config?: unknown }][] {
  if (!providers || typeof providers !== 'object') return [];
  return Object.entries(providers as Record<string, DefinitionLike>).filter(
    (entry): entry is [string, { type: string; config?: unknown }] => typeof entry[1]?.type === 'string',
  );
}

/** The custom provider types by type name; a class that cannot be one is a problem. */
export function customTypesByName(customTypes: StorageProviderClass[], problems: string[]): Map<string, StorageProviderClass> {
  const custom = new Map<string, StorageProviderClass>();
  for (const cls of customTypes) {
    const metadata = getProviderTypeMetadata(cls);
    if (!metadata) {
      problems.push(`providerTypes: ${cls.name} has no @StorageProviderType('<type>') decorator`);
      continue;
    }
    // loadStorageConfig checks a built-in type's config block with the built-in class: a custom
    // class under the same name would be judged by the wrong rules.
    if (builtInType(metadata.type)) {
      problems.push(`providerTypes: ${cls.name} is registered as "${metadata.type}", the name of a built-in type; give it a name of its own`);
      continue;
    }
    custom.set(metadata.type, cls);
  }
  return custom;
}

/** The problem of a type that is neither built in nor registered, at the first definition using it. */
export function unknownTypeProblem(path: string, type: string, customNames: Iterable<string>): string {
  const known = [...new Set([...Object.keys(BUILT_IN_PROVIDER_TYPES), ...customNames])].join(', ');
  return `${path}: unknown provider type "${type}" (known: ${known}; register custom types with providerTypes)`;
}

/**
 * What can be known of the provider definitions without loading any provider: the `config` block
 * of every built-in type and, when the custom types are given (the complete list), unknown types
 * and the config blocks of custom types. Whether a built-in type's SDK is installed is left to boot.
 */
export function definitionProblems(providers: unknown, customTypes?: StorageProviderClass[]): string[] {
  const problems: string[] = [];
  const custom = customTypes ? customTypesByName(customTypes, problems) : undefined;
  const reported = new Set<string>();
  for (const [name, definition] of typedDefinitions(providers)) {
    const path = `providers.${name}`;
    const builtIn = builtInType(definition.type);
    const customType = builtIn ? undefined : custom?.get(definition.type);
    if (!builtIn && custom && !customType) {
      if (!reported.has(definition.type)) problems.push(unknownTypeProblem(`${path}.type`, definition.type, custom.keys()));
      reported.add(definition.type);
      continue;
    }
    const configClass = builtIn ? builtIn.config : customType && getProviderTypeMetadata(customType)?.config;
    if (configClass) problems.push(...validatePlain(configClass, definition.config ?? {}, `${path}.config`).problems);
  }
  return problems;
}
