// The borderless, column-aligned text tables of the CLI's table formats (audit, costs), one look everywhere.
import Table from 'cli-table3';

const NO_BORDER = {
  top: '',
  'top-mid': '',
  'top-left': '',
  'top-right': '',
  bottom: '',
  'bottom-mid': '',
  'bottom-left': '',
  'bottom-right': '',
  left: '',
  'left-mid': '',
  mid: '',
  'mid-mid': '',
  right: '',
  'right-mid': '',
  middle: '  ',
};

export function plainTable(head: string[], colAligns?: Array<'left' | 'right'>): Table.Table {
  return new Table({
    head,
    ...(colAligns ? { colAligns } : {}),
    chars: NO_BORDER,
    style: { head: [], border: [], 'padding-left': 0, 'padding-right': 0 },
  });
}

/** cli-table3 pads the last column too; trailing blanks only get in the way of copy and grep. */
export function renderPlainTable(table: Table.Table): string {
  return table
    .toString()
    .split('\n')
    .map((line) => line.trimEnd())
    .join('\n');
}
