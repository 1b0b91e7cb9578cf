import { describe, expect, it } from '@jest/globals';
import type { OperationState } from '@atom-gov/contracts';
import {
  approvalRequestBlocks,
  approvalUpdateBlocks,
  quotaAlertBlocks,
  rejectModalView,
  SLACK_APPROVE_ACTION,
  SLACK_REJECT_ACTION,
} from './slack-blocks.js';

const state = {
  operationId: 'op-0123456789abcdef0123',
  tenant: 'acme',
  server: 'cloudflare_mcp',
  tool: 'workers.deploy',
  requesterRef: 'u-1234',
  policy: 'production_deploys',
  argsHash: 'a'.repeat(64),
  redactedArgs: '{"note":"<@U0ADMIN> <!channel> & co"}',
  status: 'pending',
  requiredApprovals: 2,
  approvals: [],
  rejections: [],
  deadline: '2026-11-24T11:00:00.000Z',
  closed: false,
} as unknown as OperationState;

describe('Slack blocks', () => {
  it('request: context, escaped arguments (no mentions), Approve/Reject carrying op and args hash', () => {
    const json = JSON.stringify(approvalRequestBlocks(state, { requester: 'dev@company.com' }));
    expect(json).toContain('dev@company.com');
    expect(json).toContain('&lt;@U0ADMIN&gt; &lt;!channel&gt; &amp; co');
    expect(json).not.toContain('<!channel>');
    expect(json).toContain(SLACK_APPROVE_ACTION);
    expect(json).toContain(SLACK_REJECT_ACTION);
    expect(json).toContain(JSON.stringify(JSON.stringify({ op: state.operationId, ah: state.argsHash })).slice(1, -1));
  });

  it('update: keeps buttons while pending, replaces them with the outcome once decided', () => {
    const pending = JSON.stringify(
      approvalUpdateBlocks(
        { ...state, approvals: [{ approver: 'a@x', decision: 'approve', channel: 'slack', at: '' }] },
        { note: 'Approved by a@x' },
      ),
    );
    expect(pending).toContain(SLACK_APPROVE_ACTION);
    expect(pending).toContain('1 of 2');
    const decided = JSON.stringify(
      approvalUpdateBlocks({ ...state, decision: 'deny', message: 'rejected by b@x: freeze', closed: true }),
    );
    expect(decided).not.toContain(SLACK_APPROVE_ACTION);
    expect(decided).toContain('Denied: rejected by b@x: freeze');
  });

  it('reject modal asks for a reason and carries the message reference', () => {
    const view = rejectModalView({ op: state.operationId, ah: state.argsHash, channel: 'C0OPS', ts: '1.2' });
    expect(JSON.parse(view.private_metadata as string)).toEqual({
      op: state.operationId,
      ah: state.argsHash,
      channel: 'C0OPS',
      ts: '1.2',
    });
    expect(JSON.stringify(view.blocks)).toContain('plain_text_input');
  });
});

describe('quota alert blocks', () => {
  it('names the resource, usage against the limit and the tenant', () => {
    const json = JSON.stringify(
      quotaAlertBlocks({
        text: 'api_calls at 80% of the monthly quota',
        state: {
          ...state,
          quotas: [
            {
              rule: 'tenant_quota',
              resource: 'api_calls',
              reservationId: 'r',
              status: 'reserved',
              reserved: 1,
              used: 40,
              limit: 50,
              overLimit: false,
            },
          ],
        },
      }),
    );
    expect(json).toContain('api_calls');
    expect(json).toContain('40 of 50 (80%)');
    expect(json).toContain('Tenant acme');
  });
});
