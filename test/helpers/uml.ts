import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

// Debian's user-mode-linux: Debian's 6.1 kernel (its config: bridge VLAN filtering, tun, veth, macvlan, 8021q,
// network namespaces, hostfs) run as a program of this machine, no KVM. Booting it takes about 3 s here.
const UML = '/usr/bin/linux.uml';
const UML_MODULES = '/usr/lib/uml/modules';
const MODULES = ['bridge', 'veth', 'tun', 'macvlan', '8021q'];
const PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export interface UmlRun {
  code: number | null; // the command's exit code; null when it did not end (time out, the kernel died)
  output: string; // the command's stdout and stderr
  console: string; // the kernel's console
  release: string; // the kernel's, as it said at boot
  ms: number; // boot to halt, as this machine measured it
}

export interface UmlOptions {
  dir: string; // a directory of this machine, read-write inside at the same path (the only one: / is read-only); the kernel's own files go in a new uml-* directory there
  cwd: string; // read-only inside at the same path, like the rest of /
  env?: Record<string, string>;
  seconds: number; // the command is killed after this, and the kernel after a little more
  memory?: string;
}

// Why the user-mode kernel cannot run here, or null.
export function umlMissing(): string | null {
  if (!existsSync(UML)) return 'linux.uml is missing (apt-get install user-mode-linux)';
  if (!['/usr/sbin/modprobe', '/sbin/modprobe'].some(existsSync)) return 'modprobe is missing (apt-get install kmod)';
  if (umlVersion() === undefined) return `${UML_MODULES} holds no modules (apt-get install --reinstall user-mode-linux)`;
  return null;
}

function umlVersion(): string | undefined {
  return existsSync(UML_MODULES) ? readdirSync(UML_MODULES)[0] : undefined;
}

const quote = (text: string): string => `'${text.replace(/'/gu, `'\\''`)}'`;

// pid 1 of the user-mode kernel: the kernel's filesystems, the modules (loaded before /tmp is covered: the tree
// that names them lives in `own`), fresh /run and /tmp, `cwd` from this machine again (read-only) if they covered
// it (a checkout under /tmp), `dir` (read-write), then the command, its output and exit code into `own`, and halt.
// The command's own time limit ends it even if this process dies.
function initScript(command: string[], options: UmlOptions, own: string): string {
  const env = Object.entries({ ...options.env, PATH, HOME: '/tmp' }).map(([key, value]) => `export ${key}=${quote(value)}\n`);
  const covered = ['/tmp/', '/run/'].some((fresh) => options.cwd.startsWith(fresh));
  const cwd = covered ? `mkdir -p ${quote(options.cwd)}\nmount -r -t hostfs none ${quote(options.cwd)} -o ${quote(options.cwd)}\n` : '';
  return `#!/bin/sh
${env.join('')}mount -t proc proc /proc
mount -t sysfs sysfs /sys
modprobe -d ${quote(`${own}/modules`)} -a ${MODULES.join(' ')}
mount -t tmpfs tmpfs /run
mount -t tmpfs tmpfs /tmp
${cwd}mkdir -p ${quote(options.dir)}
mount -t hostfs none ${quote(options.dir)} -o ${quote(options.dir)}
ip link set lo up
cd ${quote(options.cwd)}
timeout -s KILL ${options.seconds} ${command.map(quote).join(' ')} > ${quote(`${own}/output`)} 2>&1
echo $? > ${quote(`${own}/exit-code`)}
halt -f
`;
}

// Run `command` as root inside the user-mode kernel with this machine's / as its root (read-only) and `dir`
// read-write. Everything it starts ends with it: halt at the end, SIGKILL to its process group on time out.
export async function inUml(command: string[], options: UmlOptions): Promise<UmlRun> {
  const version = umlVersion() as string;
  const own = mkdtempSync(join(options.dir, 'uml-'));
  mkdirSync(`${own}/modules/lib/modules`, { recursive: true });
  symlinkSync(join(UML_MODULES, version), `${own}/modules/lib/modules/${version}`);
  const init = join(own, 'init.sh');
  writeFileSync(init, initScript(command, options, own), { mode: 0o755 });
  const consoleFd = openSync(join(own, 'console'), 'w');
  const started = Date.now();
  // Its pid and control socket go under `own` (uml_dir), not under $HOME/.uml.
  const kernel = spawn(
    UML,
    [`mem=${options.memory ?? '1G'}`, 'rootfstype=hostfs', 'rootflags=/', 'ro', `init=${init}`, 'con=null', 'con0=null,fd:2', `uml_dir=${own}`],
    { detached: true, stdio: ['ignore', 'ignore', consoleFd], env: { PATH } },
  );
  closeSync(consoleFd);
  const group = kernel.pid as number;
  const killGroup = () => {
    try {
      process.kill(-group, 'SIGKILL');
    } catch {
      // every process of it is gone
    }
  };
  const timer = setTimeout(killGroup, (options.seconds + 30) * 1000);
  await new Promise<void>((resolve) => kernel.once('exit', () => resolve()));
  clearTimeout(timer);
  killGroup(); // its helper processes, if the kernel did not halt cleanly
  const read = (name: string) => (existsSync(join(own, name)) ? readFileSync(join(own, name), 'utf8') : '');
  const code = read('exit-code').trim();
  const console = read('console');
  const release = /Linux version (\S+)/u.exec(console)?.[1] ?? 'unknown';
  return { code: code === '' ? null : Number(code), output: read('output'), console, release, ms: Date.now() - started };
}
