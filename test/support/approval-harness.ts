// A real Temporal worker running the real governed-operation workflow, with the channels' real notifiers as the
// notify activity (quota and audit activities record in memory: these tests are about the approval channels).
import { randomUUID } from 'node:crypto';
import { EventEmitter, once } from 'node:events';
import {
  GOVERNED_OPERATION_WORKFLOW,
  type GovernedOperationActivities,
  type GovernedOperationInput,
  type NotificationRequest,
  type Notifier,
  type OperationAuditRecord,
} from '@atom-gov/contracts';
import { type DecisionClient, temporalDecisionClient } from '@atom-gov/notify';
import { workflowsSource } from '@atom-gov/worker';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';

export interface ApprovalHarness {
  readonly client: Client;
  readonly taskQueue: string;
  readonly decisions: DecisionClient;
  readonly audit: OperationAuditRecord[];
  readonly notifications: NotificationRequest[];
  /** Starts a governed operation needing `minApprovals` of `approvers`; resolves once it is pending. */
  startOperation(opts: {
    approvers: string[];
    minApprovals: number;
    notify?: string[];
    timeoutMs?: number;
  }): Promise<string>;
  close(): Promise<void>;
}

export async function startApprovalHarness(notifiers: Notifier[]): Promise<ApprovalHarness> {
  const address = process.env.TEMPORAL_TEST_ADDRESS;
  if (!address) throw new Error('TEMPORAL_TEST_ADDRESS is not set: run through the Jest global setup');
  const namespace = process.env.TEMPORAL_TEST_NAMESPACE ?? 'default';
  const taskQueue = `approvals-${randomUUID()}`;
  const audit: OperationAuditRecord[] = [];
  const notifications: NotificationRequest[] = [];
  const sent = new EventEmitter();
  const activities: GovernedOperationActivities = {
    async reserveQuota(input) {
      return {
        reservationId: input.reservationId,
        granted: true,
        reserved: input.quota.reserve,
        used: input.quota.reserve,
        limit: input.quota.limit,
        overLimit: false,
        alert: false,
        periodStart: input.at,
      };
    },
    async commitQuota() {},
    async releaseQuota() {},
    async recordAudit(record) {
      audit.push(record);
    },
    async recordAuditBatch(records) {
      audit.push(...records);
    },
    async settleOperation({ records }) {
      audit.push(...records);
    },
    async notify(request) {
      const scheme = /^slack:/i.test(request.target) ? 'slack' : 'mailto';
      const notifier = notifiers.find((n) => n.schemes.includes(scheme));
      const result = notifier
        ? await notifier.send(request)
        : { delivered: false, detail: `no notifier for ${request.target}` };
      notifications.push(request);
      sent.emit('sent', request);
      return result;
    },
  };
  const workerConnection = await NativeConnection.connect({ address });
  const source = workflowsSource(true);
  const worker = await Worker.create({
    connection: workerConnection,
    namespace,
    taskQueue,
    workflowsPath: source.workflowsPath,
    bundlerOptions: { webpackConfigHook: source.webpackConfigHook },
    activities,
    shutdownGraceTime: '1s',
  });
  const running = worker.run();
  const connection = await Connection.connect({ address });
  const client = new Client({ connection, namespace });
  const decisions = temporalDecisionClient(client);

  return {
    client,
    taskQueue,
    decisions,
    audit,
    notifications,
    async startOperation({ approvers, minApprovals, notify = [], timeoutMs = 10 * 60_000 }) {
      const operationId = `op-${randomUUID().replace(/-/g, '').slice(0, 20)}`;
      const input: GovernedOperationInput = {
        operationId,
        tenant: 'acme',
        requester: 'dev@company.com',
        roles: ['developer'],
        server: 'cloudflare_mcp',
        tool: 'workers.deploy',
        argsHash: 'a'.repeat(64),
        redactedArgs: '{"script":"api-worker","env":"production","owner":"[EMAIL]"}',
        policy: 'production_deploys',
        policyVersion: 'v'.repeat(64),
        requestedAt: new Date().toISOString(),
        approvalMode: 'wait',
        approval: { rule: 'production_deploys', approvers, minApprovals, timeoutMs, onTimeout: 'deny', notify },
      };
      const expected = approvers.length + notify.length;
      const delivered = (async () => {
        // Pending and announced: every approver and notify target got its approval request.
        while (
          notifications.filter((n) => n.state.operationId === operationId && n.kind === 'approval_requested').length <
          expected
        ) {
          await once(sent, 'sent');
        }
      })();
      await client.workflow.start(GOVERNED_OPERATION_WORKFLOW, { taskQueue, workflowId: operationId, args: [input] });
      await delivered;
      return operationId;
    },
    async close() {
      worker.shutdown();
      await running.catch(() => undefined);
      await workerConnection.close();
      await connection.close();
    },
  };
}
