import { printable } from '../domain/names.js';

// An aligned text table: columns padded to their widest cell, the last column left ragged.
export function renderTable(header: string[], rows: (string | null)[][]): string {
  const cells = [header, ...rows.map((row) => row.map((cell) => (cell === null ? '-' : printable(cell))))];
  const widths = header.map((_, column) => Math.max(...cells.map((row) => (row[column] ?? '').length)));
  return cells
    .map((row) => row.map((cell, column) => (column === row.length - 1 ? cell : cell.padEnd(widths[column] ?? 0))).join('  '))
    .join('\n');
}

// Leave out the column named `name` when no row has a value in it (a column only some guests use).
export function withoutEmpty(name: string, header: string[], rows: (string | null)[][]): [string[], (string | null)[][]] {
  const column = header.indexOf(name);
  if (rows.some((row) => row[column] !== null)) return [header, rows];
  return [header.filter((_, i) => i !== column), rows.map((row) => row.filter((_, i) => i !== column))];
}
