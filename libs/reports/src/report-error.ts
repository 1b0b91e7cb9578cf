/** A problem the user can fix (bad key file, bad period...): the CLI prints the message without a stack. */
export class ReportError extends Error {
  override readonly name = 'ReportError';
}
