import { describe, expect, it } from 'vitest';
import { selectProvider } from './routing.js';

const MB = 1024 * 1024;
const rules = [
  { artifactType: 'video', sizeGt: 100 * MB, provider: 's3' },
  { artifactType: 'model', provider: 'models' },
  { contentType: 'audio/*', provider: 'audio' },
];

describe('selectProvider', () => {
  it('first matching rule wins', () => {
    expect(selectProvider(rules, 'local', { artifactType: 'video', contentType: 'video/mp4', size: 200 * MB })).toBe('s3');
    expect(selectProvider(rules, 'local', { artifactType: 'model', contentType: 'application/octet-stream' })).toBe('models');
    expect(selectProvider(rules, 'local', { artifactType: 'voice', contentType: 'audio/ogg' })).toBe('audio');
  });

  it('size_gt is strict and needs a known size', () => {
    expect(selectProvider(rules, 'local', { artifactType: 'video', contentType: 'video/mp4', size: 100 * MB })).toBe('local');
    expect(selectProvider(rules, 'local', { artifactType: 'video', contentType: 'video/mp4' })).toBe('local');
  });

  it('falls back to the default provider', () => {
    expect(selectProvider(rules, 'local', { artifactType: 'image', contentType: 'image/png', size: 10 })).toBe('local');
    expect(selectProvider([], 'local', { artifactType: 'image', contentType: 'image/png' })).toBe('local');
  });

  it('a rule without conditions matches everything', () => {
    expect(selectProvider([{ provider: 'all' }], 'local', { artifactType: 'x', contentType: 'y/z' })).toBe('all');
  });
});
