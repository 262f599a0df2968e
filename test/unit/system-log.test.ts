import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { JOURNAL_STREAM, systemLog } from '../../src/runtime/commands.js';
import type { LogLine } from '../../src/runtime/runtime.js';
import { runDist } from '../helpers/dist.js';
import { FakeSys } from '../helpers/fake-sys.js';
import { TempDir } from '../helpers/temp.js';
import { bridgeNic, liveDomain } from '../helpers/xml.js';

const LINES: LogLine[] = [
  { level: 'info', text: 'guest1: tap0 on br0: learning off, unicast flooding off (started)' },
  { level: 'warning', text: 'guest1: tap1 on br0: tap tap1 does not exist (reconnect)' },
  { level: 'err', text: 'guest1: tap2 on br0: cannot add static entry: x (started)' },
];

let temp: TempDir;
let root: string;
let bin: string;
const servers: Server[] = [];
const held: Socket[] = []; // connections a test's journald never reads

beforeEach(() => {
  temp = new TempDir();
  root = `${temp.path}/root`;
  mkdirSync(`${root}/run/systemd/journal`, { recursive: true });
  // A `logger` that records its arguments and input, so a fallback is seen exactly.
  bin = `${temp.path}/bin`;
  mkdirSync(bin);
  temp.file('bin/logger', `#!/bin/sh\necho "$@" > ${temp.path}/logger.args\ncat > ${temp.path}/logger.stdin\nexit \${LOGGER_EXIT:-0}\n`, 0o755);
});

afterEach(async () => {
  for (const socket of held.splice(0)) socket.destroy();
  await Promise.all(servers.splice(0).map((server) => new Promise((resolve) => server.close(resolve))));
  temp.cleanup();
});

// A stand-in for journald's stream socket: the bytes of each connection, once it has ended.
async function journald(path: string): Promise<{ bytes: Promise<string> }> {
  let received!: (bytes: string) => void;
  const bytes = new Promise<string>((resolve) => (received = resolve));
  const server = createServer((socket) => {
    const chunks: Buffer[] = [];
    socket.on('data', (chunk) => chunks.push(chunk));
    socket.on('end', () => received(Buffer.concat(chunks).toString('utf8')));
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(path, resolve));
  return { bytes };
}

const sink = (env: Record<string, string>) =>
  systemLog(
    () => import('node:child_process'),
    () => import('node:net'),
    { PATH: `${bin}:/usr/bin:/bin`, MACTABLE_ROOT: root, ...env },
  );
const loggerRan = () => existsSync(`${temp.path}/logger.args`);

describe('the system log: journald stream socket under the root, else logger', () => {
  it('writes the header and one line per message with its severity to ROOT/run/systemd/journal/stdout, starting no logger', async () => {
    const { bytes } = await journald(`${root}${JOURNAL_STREAM}`);
    expect(await sink({})(LINES, 5000)).toEqual({ failure: null });
    expect(await bytes).toBe(
      'mactable\n\n30\n1\n0\n0\n0\n' +
        '<6>guest1: tap0 on br0: learning off, unicast flooding off (started)\n' +
        '<4>guest1: tap1 on br0: tap tap1 does not exist (reconnect)\n' +
        '<3>guest1: tap2 on br0: cannot add static entry: x (started)\n',
    );
    expect(loggerRan()).toBe(false);
  });

  it.each([
    ['there is no socket', () => undefined],
    ['the socket refuses (a file nobody listens on)', () => temp.file(`root${JOURNAL_STREAM}`, '')],
  ])('falls back to logger when %s', async (_why, make) => {
    make();
    expect(await sink({})(LINES, 5000)).toEqual({ failure: null });
    expect(readFileSync(`${temp.path}/logger.args`, 'utf8')).toBe('--prio-prefix -t mactable\n');
    expect(readFileSync(`${temp.path}/logger.stdin`, 'utf8')).toBe(
      '<30>guest1: tap0 on br0: learning off, unicast flooding off (started)\n' +
        '<28>guest1: tap1 on br0: tap tap1 does not exist (reconnect)\n' +
        '<27>guest1: tap2 on br0: cannot add static entry: x (started)\n',
    );
  });

  it('MACTABLE_SYSLOG_SOCKET sends through logger to that socket even where journald listens', async () => {
    await journald(`${root}${JOURNAL_STREAM}`);
    expect(await sink({ MACTABLE_SYSLOG_SOCKET: '/tmp/x.sock' })(LINES.slice(0, 1), 5000)).toEqual({ failure: null });
    expect(readFileSync(`${temp.path}/logger.args`, 'utf8')).toBe('--prio-prefix -t mactable -u /tmp/x.sock\n');
  });

  it('a log that cannot be written comes back as words, never thrown', async () => {
    temp.file('bin/logger', '#!/bin/sh\necho "logger: socket /dev/log: No such file or directory" >&2\nexit 1\n', 0o755);
    expect(await sink({})(LINES, 5000)).toEqual({ failure: 'cannot write to the system log: logger: socket /dev/log: No such file or directory' });
  });

  // The race of a loaded machine made certain: logger ends without reading, and the input is more than a pipe holds.
  it("a logger that ends before reading its input: its own message, not the write's EPIPE", async () => {
    temp.file('bin/logger', '#!/bin/sh\necho "logger: socket /dev/log: No such file or directory" >&2\nexit 1\n', 0o755);
    const many = Array.from({ length: 4000 }, (_, i) => ({ level: 'info' as const, text: `guest${i}: tap0 on br0: learning off, unicast flooding off (started)` }));
    for (let i = 0; i < 5; i += 1) expect(await sink({})(many, 5000)).toEqual({ failure: 'cannot write to the system log: logger: socket /dev/log: No such file or directory' });
  });

  it('holds the time bound when journald takes nothing: a warning in words, logger not tried', async () => {
    const server = createServer({ pauseOnConnect: true }, (socket) => held.push(socket));
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(`${root}${JOURNAL_STREAM}`, resolve));
    const started = Date.now();
    const big: LogLine[] = [{ level: 'info', text: 'x'.repeat(8 << 20) }];
    expect(await sink({})(big, 300)).toEqual({ failure: `cannot write to the system log: timed out writing to ${root}${JOURNAL_STREAM}` });
    expect(Date.now() - started).toBeLessThan(2000);
    expect(loggerRan()).toBe(false);
  });

  it('nothing to log connects nowhere and runs nothing', async () => {
    expect(await sink({})([], 5000)).toEqual({ failure: null });
    expect(loggerRan()).toBe(false);
  });
});

describe('the built hook under MACTABLE_ROOT', () => {
  it("logs a port it cannot fix to the journal socket below the root, and says nothing of the log on stderr", async () => {
    new FakeSys(root).bridge('br0');
    const { bytes } = await journald(`${root}${JOURNAL_STREAM}`);
    const result = await runDist(['hook', 'qemu', 'guest1', 'reconnect', 'begin', '-'], {
      stdin: liveDomain([bridgeNic('52:54:00:00:21:01', 'br0', 'tapX')]),
      env: { MACTABLE_ROOT: root, MACTABLE_CONFIG: temp.json('cfg.json', { bridges: ['br0'] }), PATH: `${bin}:/usr/bin:/bin` },
    });
    expect(result).toEqual({ code: 0, stdout: '', stderr: 'mactable: warning: guest1: tapX on br0: tap tapX does not exist\n' });
    expect(await bytes).toBe('mactable\n\n30\n1\n0\n0\n0\n<4>guest1: tapX on br0: tap tapX does not exist (reconnect)\n');
    expect(loggerRan()).toBe(false);
  });
});
