// Denials the assistant can act on, with rate-limit wording from @atom-gov/limits at run time: the engine's
// rate-limit specs are fed to the real RateLimitService (in memory, fake clock).
import { describe, expect, it } from '@jest/globals';
import { RateLimitService, validateRateLimitSpec } from '@atom-gov/limits';
import { compilePolicy, type DecisionContext, denialMessage } from './index.js';
import { loadTree } from './test-config.js';

const ctx: DecisionContext = {
  tenant: 'acme',
  user: 'alice',
  roles: [],
  server: 'perplexity_mcp',
  method: 'tools/call',
  name: 'research.deep',
  transport: 'http',
  local: true,
  time: new Date('2026-03-30T10:00:00Z'),
};

describe('denialMessage', () => {
  it('names the policy, the limit and when to retry for a rate-limit hit', async () => {
    const engine = compilePolicy(
      await loadTree({
        'mcp-governance.yaml': `
atom_gov:
  servers: [{ name: perplexity_mcp, command: node }]
policy:
  name: research_rate_limit
  trigger: { mcp_server: perplexity_mcp, operation: research.* }
  action: { rate_limit: { limit: 100/hour, per: user, on_exceeded: block } }
`,
      }),
    );
    const [obligation] = engine.decide(ctx).obligations.rateLimits;
    expect(obligation).toBeDefined();
    expect(() => validateRateLimitSpec(obligation!.spec)).not.toThrow();

    let now = Date.parse('2026-03-30T10:00:00Z');
    const limits = await RateLimitService.create({ clock: () => now });
    try {
      const key = { tenant: ctx.tenant, user: ctx.user, server: ctx.server, tool: ctx.name! };
      for (let i = 0; i < 100; i++) {
        expect((await limits.check(obligation!.spec, key)).allowed).toBe(true);
        now += 1000;
      }
      const hit = await limits.check(obligation!.spec, key);
      expect(hit.allowed).toBe(false);
      expect(denialMessage({ effect: 'allow' }, { obligation: obligation!, message: hit.message! })).toMatch(
        /^Denied by policy research_rate_limit: rate limit 100\/hour per user exceeded; retry after (\d+ h )?\d+ min$/,
      );
      // Another user is not limited by alice's calls.
      expect((await limits.check(obligation!.spec, { ...key, user: 'bob' })).allowed).toBe(true);
    } finally {
      await limits.close();
    }
  });

  it('says what would allow a denied call', () => {
    expect(
      denialMessage({
        effect: 'deny',
        policy: 'no_prod',
        reason: 'production is read-only',
        remedy: 'no exception applies; ask the policy owner',
      }),
    ).toBe('Denied by policy no_prod: production is read-only; no exception applies; ask the policy owner');
    expect(denialMessage({ effect: 'allow' })).toBe('');
  });
});
