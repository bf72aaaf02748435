import { plainToInstance } from 'class-transformer';
import { validateSync, type ValidationError } from 'class-validator';
import type { Type } from '@nestjs/common';

/** Maps a property name to the name the user wrote (camelCase options shown as snake_case YAML). */
export type NameStyle = (name: string) => string;

export const camelToSnake: NameStyle = (name) => name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
export const asWritten: NameStyle = (name) => name;

function join(path: string, property: string, style: NameStyle): string {
  if (/^\d+$/.test(property)) return `${path}[${property}]`;
  const name = style(property);
  return path ? `${path}.${name}` : name;
}

function flatten(errors: ValidationError[], path: string, style: NameStyle, out: string[]): void {
  for (const error of errors) {
    const at = join(path, error.property, style);
    for (const [constraint, message] of Object.entries(error.constraints ?? {})) {
      if (constraint === 'whitelistValidation') {
        out.push(`${at}: is not a known option`);
        continue;
      }
      // class-validator starts messages with the property name; say the full path instead.
      const text = message.startsWith(`${error.property} `) ? message.slice(error.property.length + 1) : message;
      out.push(`${at}: ${text}`);
    }
    if (error.children?.length) flatten(error.children, at, style, out);
  }
}

/**
 * A config class can check what its decorators cannot express (each entry of a map, keys that
 * must decode, one option naming an entry of another) with a static method under this symbol:
 * given the validated instance and the block's path, it returns its problems as `path: message`.
 * validatePlain calls it whether or not the decorators passed, so it must not trust the types of
 * the fields. (Static, so that the config type stays plain data that an object literal satisfies.)
 */
export const CONFIG_CHECK: unique symbol = Symbol.for('@boards/storage:config-check');

export interface ConfigCheck<T> {
  [CONFIG_CHECK](config: T, path: string): string[];
}

/**
 * Validates a plain object against a class-validator decorated class and returns every
 * problem as `path: message` (an empty list when valid), plus the typed instance. The class's
 * own CONFIG_CHECK, if it has one, adds its problems to the same list.
 */
export function validatePlain<T extends object>(
  cls: Type<T>,
  plain: unknown,
  path: string,
  style: NameStyle = asWritten,
): { value: T; problems: string[] } {
  if (plain === null || typeof plain !== 'object' || Array.isArray(plain)) {
    return { value: plain as T, problems: [`${path || '(root)'}: must be an object`] };
  }
  const value = plainToInstance(cls, plain, { enableImplicitConversion: false });
  const errors = validateSync(value, {
    whitelist: true,
    forbidNonWhitelisted: true,
    forbidUnknownValues: false,
  });
  const problems: string[] = [];
  flatten(errors, path, style, problems);
  const check = (cls as Partial<ConfigCheck<T>>)[CONFIG_CHECK];
  if (typeof check === 'function') problems.push(...check.call(cls, value, path));
  return { value, problems };
}
