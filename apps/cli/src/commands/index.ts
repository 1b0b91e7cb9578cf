import type { Command } from 'commander';
import * as audit from './audit.command.js';
import * as init from './init.command.js';
import * as policy from './policy.command.js';
import * as proxy from './proxy.command.js';

/** Every command module exports `register(program)`; add new ones to this list. */
const modules: Array<{ register(program: Command): void }> = [audit, init, policy, proxy];

export function registerCommands(program: Command): void {
  for (const m of modules) m.register(program);
}
