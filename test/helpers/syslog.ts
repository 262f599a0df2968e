import { unlinkSync } from 'node:fs';
import { execa, type ResultPromise } from 'execa';

// A stand-in for /dev/log: a unix datagram socket whose messages the test can read (Node cannot bind one; python3 can).
const LISTENER = `
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
print("ready", flush=True)
while True:
    print(s.recv(65536).decode(errors="replace").strip(), flush=True)
`;

export class SyslogListener {
  private readonly received: string[] = [];
  private constructor(
    readonly path: string,
    private readonly process: ResultPromise,
  ) {}

  static async start(path: string): Promise<SyslogListener> {
    const child = execa('python3', ['-c', LISTENER, path], { buffer: false, reject: false });
    const listener = new SyslogListener(path, child);
    await new Promise<void>((resolve, reject) => {
      child.stdout?.setEncoding('utf8');
      child.stdout?.on('data', (chunk: string) => {
        for (const line of chunk.split('\n').filter(Boolean)) {
          if (line === 'ready') resolve();
          else listener.received.push(line);
        }
      });
      child.once('exit', () => reject(new Error('the syslog listener exited')));
    });
    return listener;
  }

  // Messages so far, with the syslog header ("<PRI>date host ") left on.
  messages(): string[] {
    return [...this.received];
  }

  async stop(): Promise<void> {
    this.process.kill();
    await this.process;
    unlinkSync(this.path);
  }
}
