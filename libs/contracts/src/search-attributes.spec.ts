import { describe, expect, it } from '@jest/globals';
import { devServerSearchAttributeArgs, SEARCH_ATTRIBUTES, searchAttributeKeys } from './search-attributes.js';

describe('search attribute contract', () => {
  it('lists every typed key once, as Keyword, with the documented names', () => {
    expect(SEARCH_ATTRIBUTES.map((d) => d.name)).toEqual([
      'AtomTenant',
      'AtomServer',
      'AtomTool',
      'AtomRequester',
      'AtomStatus',
      'AtomDecision',
      'AtomPolicy',
    ]);
    const typed = Object.values(searchAttributeKeys);
    expect(typed.map((k) => k.name).sort()).toEqual(SEARCH_ATTRIBUTES.map((d) => d.name).sort());
    expect(new Set(typed.map((k) => k.type))).toEqual(new Set(['KEYWORD']));
  });

  it('renders the dev server flags', () => {
    expect(devServerSearchAttributeArgs([{ name: 'A', type: 'Keyword', description: 'a' }])).toEqual([
      '--search-attribute',
      'A=Keyword',
    ]);
    expect(devServerSearchAttributeArgs()).toHaveLength(SEARCH_ATTRIBUTES.length * 2);
  });
});
