import { Logger, type OnApplicationShutdown } from '@nestjs/common';
import type { ModuleRef } from '@nestjs/core';
import {
  getProviderTypeMetadata,
  type StorageProvider,
  type StorageProviderClass,
} from '../contract/index.js';
import { validatePlain, type ResolvedStorageOptions } from '../config/index.js';
import { ConfigurationError, StorageError } from '../errors/index.js';
import { builtInType } from './builtin-types.js';
import { customTypesByName, typedDefinitions, unknownTypeProblem } from './provider-types.js';

function isMissingModule(error: unknown): boolean {
  const code = (error as { code?: string })?.code;
  return code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND';
}

/** Finds the class of every configured provider type, loading built-in SDKs on demand. */
async function resolveTypeClasses(
  definitions: [string, { type: string }][],
  customTypes: StorageProviderClass[],
  problems: string[],
): Promise<Map<string, StorageProviderClass>> {
  const custom = customTypesByName(customTypes, problems);
  const classes = new Map<string, StorageProviderClass>();
  const wanted = new Set(definitions.map(([, definition]) => definition.type));
  for (const type of wanted) {
    if (custom.has(type)) {
      classes.set(type, custom.get(type)!);
      continue;
    }
    const builtIn = builtInType(type);
    const users = definitions.filter(([, d]) => d.type === type).map(([name]) => `providers.${name}.type`);
    if (!builtIn) {
      problems.push(unknownTypeProblem(users[0], type, custom.keys()));
      continue;
    }
    try {
      classes.set(type, await builtIn.load());
    } catch (error) {
      if (!isMissingModule(error)) throw error;
      problems.push(
        `${users[0]}: the "${type}" provider needs ${builtIn.packages.join(', ')}; install with: npm install ${builtIn.packages.join(' ')}`,
      );
    }
  }
  return classes;
}

/** What checking the provider definitions found: each type's class, each validated config, the problems. */
export interface ProviderDefinitionsCheck {
  classes: Map<string, StorageProviderClass>;
  configs: Map<string, Record<string, unknown>>;
  problems: string[];
}

/**
 * Resolves the type of every provider definition (built-in SDKs are loaded here, so a missing
 * one is a problem too) and validates each `config` block with its type's config class. Takes
 * the options as configured, so that the module can report these problems together with those
 * of the options themselves.
 */
export async function checkProviderDefinitions(providers: unknown, customTypes: StorageProviderClass[] = []): Promise<ProviderDefinitionsCheck> {
  const problems: string[] = [];
  const definitions = typedDefinitions(providers);
  const classes = await resolveTypeClasses(definitions, customTypes, problems);
  const configs = new Map<string, Record<string, unknown>>();
  for (const [name, definition] of definitions) {
    const cls = classes.get(definition.type);
    if (!cls) continue;
    const configClass = getProviderTypeMetadata(cls)?.config;
    if (configClass) {
      const checked = validatePlain(configClass, definition.config ?? {}, `providers.${name}.config`);
      problems.push(...checked.problems);
      configs.set(name, checked.value as Record<string, unknown>);
    } else {
      configs.set(name, (definition.config ?? {}) as Record<string, unknown>);
    }
  }
  return { classes, configs, problems };
}

/**
 * Holds every configured provider instance by name. Instances are created through Nest's DI
 * (`ModuleRef.create`), so custom types can inject services; each gets its validated config.
 */
export class StorageProviderRegistry implements OnApplicationShutdown {
  private readonly logger = new Logger('StorageProviders');

  private constructor(
    private readonly instances: Map<string, StorageProvider>,
    readonly options: ResolvedStorageOptions,
  ) {}

  static async create(
    options: ResolvedStorageOptions,
    moduleRef: ModuleRef,
    customTypes: StorageProviderClass[] = [],
  ): Promise<StorageProviderRegistry> {
    const { classes, configs: validated, problems } = await checkProviderDefinitions(options.providers, customTypes);
    if (problems.length) throw new ConfigurationError('Invalid storage configuration:', problems);

    const instances = new Map<string, StorageProvider>();
    try {
      for (const [name, definition] of Object.entries(options.providers)) {
        const instance = await moduleRef.create(classes.get(definition.type)!);
        try {
          await instance.initialize({ name, config: validated.get(name)! });
        } catch (error) {
          if (error instanceof StorageError) throw error;
          throw new ConfigurationError(`Provider "${name}" (${definition.type}) failed to start: ${(error as Error).message}`, [], {
            cause: error,
          });
        }
        instances.set(name, instance);
      }
    } catch (error) {
      await Promise.allSettled([...instances.values()].map((instance) => instance.close()));
      throw error;
    }
    return new StorageProviderRegistry(instances, options);
  }

  /** The provider instance configured under `name`. */
  get(name: string): StorageProvider {
    const found = this.instances.get(name);
    if (!found) throw new ConfigurationError(`No storage provider named "${name}"`);
    return found;
  }

  has(name: string): boolean {
    return this.instances.has(name);
  }

  names(): string[] {
    return [...this.instances.keys()];
  }

  entries(): [string, StorageProvider][] {
    return [...this.instances.entries()];
  }

  isOptional(name: string): boolean {
    return this.options.providers[name]?.optional === true;
  }

  async onApplicationShutdown(): Promise<void> {
    const results = await Promise.allSettled([...this.instances.values()].map((instance) => instance.close()));
    for (const result of results) {
      if (result.status === 'rejected') this.logger.warn(`A provider failed to close: ${String(result.reason)}`);
    }
  }
}
