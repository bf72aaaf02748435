import { describe, expect, it } from 'vitest';
import { ConfigurationError } from '../errors/index.js';
import { loadStorageConfig, parseStorageConfig, resolveStorageOptions } from '../config/index.js';

const base = `
storage:
  default_provider: mem
  providers:
    mem: { type: memory }
`;

describe('content_validation options', () => {
  it('defaults to every check on and pickles refused', () => {
    expect(resolveStorageOptions(parseStorageConfig(base, {})).contentValidation).toEqual({
      sniff: true,
      blockExecutables: true,
      utf8Text: true,
      json: true,
      safetensors: true,
      maxSafetensorsHeader: 100_000_000,
      allowPickle: false,
    });
  });

  it('maps the YAML block', () => {
    const yaml = `${base}  content_validation:\n    sniff: false\n    allow_pickle: true\n    utf8_text: false\n    max_safetensors_header: 8MB\n`;
    expect(resolveStorageOptions(parseStorageConfig(yaml, {})).contentValidation).toMatchObject({
      sniff: false,
      allowPickle: true,
      utf8Text: false,
      json: true,
      maxSafetensorsHeader: 8 * 1024 * 1024,
    });
  });

  it('reports bad values in the file\'s own names', () => {
    const yaml = `${base}  content_validation:\n    allow_pickle: "yes"\n    max_safetensors_header: 1GB\n    scan_everything: true\n`;
    let error: unknown;
    try {
      parseStorageConfig(yaml, {}, 'storage.yaml');
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigurationError);
    const problems = (error as ConfigurationError).problems.join('\n');
    expect(problems).toContain('content_validation.allow_pickle');
    expect(problems).toContain('content_validation.max_safetensors_header: must be between 1KB and 100000000 bytes');
    expect(problems).toContain('scan_everything');
  });

  it('the reference server\'s config/storage.yaml turns every check on', () => {
    const options = resolveStorageOptions(loadStorageConfig('config/storage.yaml', { STORAGE_SIGNING_SECRET: 'x'.repeat(32) }));
    expect(options.contentValidation).toMatchObject({ sniff: true, blockExecutables: true, utf8Text: true, json: true, safetensors: true, allowPickle: false });
  });
});
