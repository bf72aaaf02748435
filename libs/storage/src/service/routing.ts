import type { ResolvedRoutingRule } from '../config/index.js';
import { contentTypeMatches } from './content-type.js';

export interface RoutingFacts {
  artifactType: string;
  contentType: string;
  /** The declared length; unknown lengths never match a `size_gt` condition. */
  size?: number;
}

/** The first rule whose every condition matches names the provider; otherwise the default. */
export function selectProvider(rules: readonly ResolvedRoutingRule[], fallback: string, facts: RoutingFacts): string {
  for (const rule of rules) {
    if (rule.artifactType !== undefined && rule.artifactType !== facts.artifactType) continue;
    if (rule.contentType !== undefined && !contentTypeMatches(facts.contentType, rule.contentType)) continue;
    if (rule.sizeGt !== undefined && (facts.size === undefined || facts.size <= rule.sizeGt)) continue;
    return rule.provider;
  }
  return fallback;
}
