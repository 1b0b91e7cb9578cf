import type { Command } from 'commander';

/** Every command module exports `register(program)`; add new ones to this list. */
const modules: Array<{ register(program: Command): void }> = [];

export function registerCommands(program: Command): void {
  for (const m of modules) m.register(program);
}
