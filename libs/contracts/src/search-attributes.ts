import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

/** Temporal's names for search attribute types, as `temporal server start-dev --search-attribute` and
 * `temporal operator search-attribute create --type` expect them. */
export type SearchAttributeTypeName = 'Keyword' | 'Text' | 'Int' | 'Double' | 'Bool' | 'Datetime' | 'KeywordList';

export interface SearchAttributeDefinition {
  readonly name: string;
  readonly type: SearchAttributeTypeName;
  /** What it holds, for docs and the Temporal UI reviewer. Never PII: identifiers only. */
  readonly description: string;
}

/** Every search attribute ATOM-GOV workflows upsert. Kept as data so the dev server registers them at start
 * and docs/CLI can print the commands for a real cluster: an unregistered key fails the workflow task forever. */
export const SEARCH_ATTRIBUTES = [
  { name: 'AtomTenant', type: 'Keyword', description: 'Tenant the governed operation belongs to' },
  { name: 'AtomServer', type: 'Keyword', description: 'Upstream MCP server name from the config' },
  { name: 'AtomTool', type: 'Keyword', description: 'Tool (or resource / prompt) the operation calls' },
  { name: 'AtomRequester', type: 'Keyword', description: 'Identity of the caller (user id, not a name or email)' },
  { name: 'AtomStatus', type: 'Keyword', description: 'Operation status: pending, approved, running, done, ...' },
  { name: 'AtomDecision', type: 'Keyword', description: 'Final decision: allow, deny, timeout, ...' },
  { name: 'AtomPolicy', type: 'Keyword', description: 'Name of the policy that governs the operation' },
] as const satisfies readonly SearchAttributeDefinition[];

/** Typed keys for `upsertSearchAttributes` / `typedSearchAttributes` in workflows and the client. */
export const searchAttributeKeys = {
  tenant: defineSearchAttributeKey('AtomTenant', SearchAttributeType.KEYWORD),
  server: defineSearchAttributeKey('AtomServer', SearchAttributeType.KEYWORD),
  tool: defineSearchAttributeKey('AtomTool', SearchAttributeType.KEYWORD),
  requester: defineSearchAttributeKey('AtomRequester', SearchAttributeType.KEYWORD),
  status: defineSearchAttributeKey('AtomStatus', SearchAttributeType.KEYWORD),
  decision: defineSearchAttributeKey('AtomDecision', SearchAttributeType.KEYWORD),
  policy: defineSearchAttributeKey('AtomPolicy', SearchAttributeType.KEYWORD),
} as const;

/** `Key=Type` arguments for `temporal server start-dev --search-attribute`. */
export function devServerSearchAttributeArgs(defs: readonly SearchAttributeDefinition[] = SEARCH_ATTRIBUTES): string[] {
  return defs.flatMap((d) => ['--search-attribute', `${d.name}=${d.type}`]);
}
