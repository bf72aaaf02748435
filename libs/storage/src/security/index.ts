import { ContentSniffInspector } from './content-sniff.inspector.js';
import { ModelWeightsInspector } from './model-weights.inspector.js';
import { TextContentInspector } from './text-content.inspector.js';

export * from './content-kinds.js';
export * from './content-sniff.inspector.js';
export * from './model-weights.inspector.js';
export * from './pickle.js';
export * from './safetensors.js';
export * from './sniff.js';
export * from './text-content.inspector.js';
export * from './text-streams.js';

/**
 * Every content check, in order (sniff first, so a body of the wrong kind is refused before
 * any byte is stored): `StorageModule.forRoot({ ..., inspectors: CONTENT_VALIDATION_INSPECTORS })`.
 * Each reads its settings from the `content_validation` block.
 */
export const CONTENT_VALIDATION_INSPECTORS = [ContentSniffInspector, TextContentInspector, ModelWeightsInspector];
