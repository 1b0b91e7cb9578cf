/** One finding about a configuration file, positioned so an editor can jump to it. */
export interface ConfigIssue {
  file: string;
  /** 1-based. */
  line: number;
  /** 1-based. */
  column: number;
  /** YAML path, e.g. `atom_gov.servers[0].command`; empty for the document itself. */
  path: string;
  message: string;
  /** A suggestion such as the nearest valid key. */
  hint?: string;
  severity: 'error' | 'warning';
}

/** Thrown by loadConfig when any error-severity issue was found; carries every issue, not only the first. */
export class ConfigError extends Error {
  readonly issues: ConfigIssue[];

  constructor(issues: readonly ConfigIssue[]) {
    const errors = issues.filter((i) => i.severity === 'error');
    const count = errors.length === 1 ? '1 error' : `${errors.length} errors`;
    super(`invalid configuration (${count}):\n${formatIssues(issues)}`);
    this.name = 'ConfigError';
    this.issues = [...issues];
  }
}

/** `file:line:col  path  message (did you mean 'x'?)`, one issue per line. */
export function formatIssues(issues: readonly ConfigIssue[]): string {
  return issues.map(formatIssue).join('\n');
}

function formatIssue(issue: ConfigIssue): string {
  const where = `${issue.file}:${issue.line}:${issue.column}`;
  const prefix = issue.severity === 'warning' ? 'warning: ' : '';
  const hint = issue.hint ? ` (${issue.hint})` : '';
  return `${where}  ${issue.path || '(document)'}  ${prefix}${issue.message}${hint}`;
}

/** Orders issues by file, then position, so output reads top to bottom. */
export function sortIssues(issues: ConfigIssue[]): ConfigIssue[] {
  return issues.sort((a, b) => a.file.localeCompare(b.file) || a.line - b.line || a.column - b.column);
}
