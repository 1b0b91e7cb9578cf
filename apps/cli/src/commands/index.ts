import type { Command } from 'commander';
import * as approve from './approve.command.js';
import * as audit from './audit.command.js';
import * as call from './call.command.js';
import * as complianceReport from './compliance-report.command.js';
import * as costs from './costs.command.js';
import * as exportCmd from './export.command.js';
import * as auditVerify from './audit-verify.command.js';
import * as auditShow from './audit-show.command.js';
import * as gateway from './gateway.command.js';
import * as init from './init.command.js';
import * as metrics from './metrics.command.js';
import * as pending from './pending.command.js';
import * as policy from './policy.command.js';
import * as proxy from './proxy.command.js';
import * as reject from './reject.command.js';
import * as slackbot from './slackbot.command.js';
import * as start from './start.command.js';
import * as tenants from './tenants.command.js';
import * as tools from './tools.command.js';
import * as worker from './worker.command.js';

/** Every command module exports `register(program)`; add new ones to this list. */
const modules: Array<{ register(program: Command): void }> = [
  audit,
  auditVerify,
  auditShow,
  tenants,
  init,
  policy,
  proxy,
  start,
  gateway,
  worker,
  pending,
  approve,
  reject,
  tools,
  slackbot,
  call,
  exportCmd,
  complianceReport,
  costs,
  metrics,
];

export function registerCommands(program: Command): void {
  for (const m of modules) m.register(program);
}
