import { InputError } from '../runtime/errors.js';
import { osErrorText } from '../runtime/fs.js';
import type { Runtime } from '../runtime/runtime.js';

// The domain XML named on the command line, or stdin for '-' or no name. Returns the text and its name for messages.
export async function readDomainXml(rt: Runtime, file: string | undefined): Promise<{ xml: string; what: string }> {
  if (file === undefined || file === '-') {
    if (await rt.stdinIsTTY()) throw new InputError('no domain XML: give a FILE, or pipe the XML to stdin');
    return { xml: await readOr(() => rt.readStdin(Infinity), 'stdin'), what: 'stdin' };
  }
  return { xml: await readOr(async () => rt.readFile(file), file), what: file };
}

async function readOr(read: () => Promise<string>, what: string): Promise<string> {
  try {
    return await read();
  } catch (error) {
    throw new InputError(`cannot read ${what}: ${osErrorText(error)}`);
  }
}
