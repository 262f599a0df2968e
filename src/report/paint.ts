// ANSI colour for a terminal; plain text everywhere else (pipes, files, --json).
const CODES = { green: 32, yellow: 33, red: 31, dim: 2 } as const;

type Colour = keyof typeof CODES;

// Colour each row of a rendered table (after its header line); colouring after alignment keeps the widths right.
export function paintRows(table: string, colours: Colour[], enabled: boolean): string {
  if (!enabled) return table;
  return table
    .split('\n')
    .map((line, i) => {
      const colour = i === 0 ? undefined : colours[i - 1];
      return colour === undefined ? line : `\u001b[${CODES[colour]}m${line}\u001b[0m`;
    })
    .join('\n');
}
