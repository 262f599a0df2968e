import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Booted } from '../helpers/booted.js';
import { DebianRoot, RELEASES, SYSTEMD, VERSION, standInDaemon, type Release } from '../helpers/debian-root.js';
import { SOURCE } from '../helpers/installed.js';
import { canRun, isRoot, missingTool } from '../helpers/sh.js';
import { eventually } from '../helpers/wait.js';

const PLAYBOOK = `${SOURCE}packaging/ansible/site.yml`;
const CONFFILE = '/etc/libvirt/mactable.json';
const METRICS = '/var/lib/prometheus/node-exporter/mactable.prom';
const DROP_IN = '/etc/systemd/system/mactable.service.d/metrics.conf';
const CONFIG = { bridges: ['br0', 'br-*'], networks: ['hostbr'], onError: 'warn', timeout: 5 };
// A host Ansible manages: Python, python3-apt for the apt module, systemd; and mactable's dependencies, which the
// booted container, in a network of its own, cannot download.
const PACKAGES = [...SYSTEMD, 'python3', 'python3-apt', 'iproute2'];
// A stand-in libvirtd under systemd, found by the package's postinst as a running one; a line in RELOADS for each
// reload (SIGHUP, as libvirtd.service's ExecReload sends; the shell's kill: a minbase root has no procps).
const RELOADS = '/var/tmp/libvirtd-reloads';
const FAKE_LIBVIRTD_UNIT = `[Service]
ExecStart=/usr/local/sbin/libvirtd
ExecReload=/bin/sh -c 'kill -HUP "$MAINPID"'
[Install]
WantedBy=multi-user.target
`;

function missing(): string | null {
  if (!isRoot) return 'it needs root for debootstrap, chroot and systemd-nspawn';
  return missingTool({ 'ansible-playbook': 'ansible', debootstrap: 'debootstrap', unshare: 'util-linux', 'systemd-nspawn': 'systemd-container', nsenter: 'util-linux' });
}

interface Play {
  code: number;
  output: string;
  recap: Record<string, number>; // ok, changed, failed, ... of the one host
}

// ansible-playbook site.yml (Debian's ansible) against one host, with `vars` as extra vars, from a directory of
// its own (no ansible.cfg; the controller's files in ANSIBLE_HOME) and a clean environment, which the connections
// pass on to the host: HOME is the host's root's, where Ansible puts its remote temporary files. `prefix` runs it
// in the mount namespace the chroot connection needs.
async function play(inventory: string, vars: Record<string, unknown>, prefix: string[] = []): Promise<Play> {
  const work = mkdtempSync(join(tmpdir(), 'mactable-ansible-'));
  try {
    writeFileSync(`${work}/inventory`, `[kvm_hosts]\n${inventory} ansible_python_interpreter=/usr/bin/python3\n`);
    writeFileSync(`${work}/vars.json`, JSON.stringify(vars));
    const command = [...prefix, 'ansible-playbook', '-i', `${work}/inventory`, '-e', `@${work}/vars.json`, PLAYBOOK];
    const result = await execa(command[0] as string, command.slice(1), {
      cwd: work,
      reject: false,
      all: true,
      timeout: 600_000,
      extendEnv: false,
      env: {
        PATH: '/usr/sbin:/usr/bin:/sbin:/bin',
        LC_ALL: 'C.UTF-8',
        HOME: '/root',
        ANSIBLE_HOME: work,
        ANSIBLE_LOCAL_TEMP: `${work}/tmp`,
        ANSIBLE_NOCOLOR: '1',
        ANSIBLE_RETRY_FILES_ENABLED: 'false',
        // Fewer transfers where the connection can (chroot); the play is the same.
        ANSIBLE_PIPELINING: '1',
      },
    });
    const output = String(result.all);
    const line = /^\S+\s+:\s+(ok=.*)$/mu.exec(output)?.[1] ?? '';
    const recap = Object.fromEntries([...line.matchAll(/(\w+)=(\d+)/gu)].map((match) => [match[1], Number(match[2])]));
    return { code: result.exitCode ?? -1, output, recap };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

// Per release, two hosts at once: an image build, reached with ansible's chroot connection (no systemd runs; proc,
// sys and dev mounted in a mount namespace that ends with each play, as image builders do), and a fleet host, a
// container booted with systemd, reached with community.docker.nsenter (the namespaces of its init; root already,
// so no become). The role is applied to each, then again, then with a bad config.
describe.skipIf(!canRun('the Ansible role (test/distro/ansible.test.ts)', missing())).each(Object.keys(RELEASES) as Release[])('the Ansible role on Debian %s', (release) => {
  const { debian } = RELEASES[release];
  const image = new DebianRoot(release, PACKAGES);
  const host = new DebianRoot(release, PACKAGES);
  let booted: Booted | null = null;
  let deb = '';
  const first: Record<'image' | 'host', Play | null> = { image: null, host: null };
  const vars = (config: unknown, metrics: string) => ({ mactable_deb: deb, mactable_config: config, mactable_metrics_file: metrics });
  const toImage = (config: unknown, metrics = METRICS) =>
    play(`debian${debian} ansible_connection=community.general.chroot ansible_host=${image.path}`, vars(config, metrics), image.mounted());
  const toHost = (config: unknown, metrics = METRICS) =>
    play(`kvm${debian} ansible_connection=community.docker.nsenter ansible_nsenter_pid=${(booted as Booted).init} ansible_become=false`, vars(config, metrics));
  const onHost = (script: string) => (booted as Booted).run(script);
  const seconds = (since: number) => `${((Date.now() - since) / 1000).toFixed(0)} s`;

  // Both to their end before a failure is thrown: afterAll must not clean up while one side still builds or plays.
  const both = async (...work: Promise<unknown>[]) => {
    const failed = (await Promise.allSettled(work)).find((result): result is PromiseRejectedResult => result.status === 'rejected');
    if (failed !== undefined) throw failed.reason;
  };

  beforeAll(async () => {
    const started = Date.now();
    await both(image.create(), host.create()); // each says how long it took
    deb = `${image.path}${await image.addPackage()}`;
    const prepared = Date.now();
    await both(
      toImage(CONFIG).then((result) => void (first.image = result)),
      (async () => {
        // node_exporter's textfile directory, as its package makes it; the stand-in libvirtd, enabled.
        mkdirSync(`${host.path}/var/lib/prometheus/node-exporter`, { recursive: true });
        writeFileSync(`${host.path}/usr/local/sbin/libvirtd`, standInDaemon({ name: 'libvirtd', version: '9.0.0' }, RELOADS), { mode: 0o755 });
        writeFileSync(`${host.path}/etc/systemd/system/libvirtd.service`, FAKE_LIBVIRTD_UNIT);
        await host.run('systemctl enable libvirtd.service');
        booted = await Booted.boot(host.path);
        first.host = await toHost(CONFIG);
      })(),
    );
    process.stderr.write(`distro: Debian ${debian} roots for the role: ${seconds(started)} in all; the first plays: ${seconds(prepared)}\n`);
  }, 1_200_000);

  afterAll(async () => {
    try {
      await booted?.poweroff();
    } finally {
      await Promise.all([image.cleanup(), host.cleanup()]);
    }
  }, 120_000);

  it('over the chroot connection: installs the package, writes the config from the variables, enables the unit and starts nothing', async () => {
    const result = first.image as Play;
    expect(result.code, result.output).toBe(0);
    expect((await image.run("dpkg-query -W -f '${Status} ${Version}' mactable")).stdout).toBe(`install ok installed ${VERSION}`);
    expect(JSON.parse(readFileSync(`${image.path}${CONFFILE}`, 'utf8'))).toEqual(CONFIG);
    // As mactable reads it: every key the variables gave, the defaults for the rest.
    expect(JSON.parse((await image.run(`mactable check-config --json ${CONFFILE}`)).stdout).config).toEqual({ ...CONFIG, sticky: false, lockPorts: false });
    expect(await image.run('systemctl is-enabled mactable.service')).toMatchObject({ code: 0, stdout: 'enabled' });
    expect(readFileSync(`${image.path}${DROP_IN}`, 'utf8')).toContain(`\nEnvironment="MACTABLE_WATCH_ARGS=--metrics-file ${METRICS}"\n`);
    expect(image.processes()).toEqual([]);
  });

  it('on the booted host: starts the watcher with its metrics, the package reloads the running libvirtd once, and doctor finds nothing failing', async () => {
    const result = first.host as Play;
    expect(result.code, result.output).toBe(0);
    expect(JSON.parse(readFileSync(`${host.path}${CONFFILE}`, 'utf8'))).toEqual(CONFIG);
    expect((await onHost('systemctl is-active mactable.service')).stdout).toBe('active');
    // The command the watcher runs, as systemd expanded the drop-in's MACTABLE_WATCH_ARGS.
    const argv = await onHost("tr '\\0' ' ' < /proc/$(systemctl show -p MainPID --value mactable.service)/cmdline");
    expect(argv.stdout.trim()).toMatch(new RegExp(` --max-old-space-size=64 /usr/lib/mactable/dist/mactable\\.mjs watch --metrics-file ${METRICS}$`, 'u'));
    // libvirt's status directory appears (as when libvirtd starts): the watcher reconciles, and writes its metrics.
    await onHost('mkdir -p /run/libvirt/qemu');
    expect(await eventually(async () => (await onHost(`cat ${METRICS}`)).stdout.includes('mactable_reconciles_total 1'), 10, 100)).toBe(true);
    expect((await onHost(`cat ${RELOADS}`)).stdout).toBe('hup');
    const doctor = await onHost('mactable doctor --json');
    const checks = (JSON.parse(doctor.stdout) as { checks: { check: string; status: string }[] }).checks;
    expect([doctor.code, checks.filter(({ status }) => status === 'fail')]).toEqual([0, []]);
    expect(checks.find(({ check }) => check === 'watcher')).toMatchObject({ status: 'ok' });
  });

  it('a second run changes nothing, on either, and reloads nothing', async () => {
    const [again, hostAgain] = await Promise.all([toImage(CONFIG), toHost(CONFIG)]);
    expect([again.code, again.recap.changed, again.recap.failed], again.output).toEqual([0, 0, 0]);
    expect([hostAgain.code, hostAgain.recap.changed, hostAgain.recap.failed], hostAgain.output).toEqual([0, 0, 0]);
    expect((await onHost(`cat ${RELOADS}`)).stdout).toBe('hup');
  });

  it("a bad mactable_config fails the play with mactable's reason and leaves the installed config byte for byte", async () => {
    const before = readFileSync(`${image.path}${CONFFILE}`);
    const bad = await toImage({ bridges: 5 });
    expect([bad.code, bad.recap.failed], bad.output).toEqual([2, 1]);
    expect(bad.output).toMatch(/mactable: invalid config \S+: bridges: must be a list of names or patterns, not 5/u);
    expect(readFileSync(`${image.path}${CONFFILE}`).equals(before)).toBe(true);
  });

  it('a metrics path the watcher could not use fails the play before any change: one with a space, one in a directory the running host lacks', async () => {
    const dropIn = readFileSync(`${host.path}${DROP_IN}`);
    const [spaced, nowhere] = await Promise.all([toImage(CONFIG, '/var/lib/prometheus/node exporter/mactable.prom'), toHost(CONFIG, '/var/lib/nowhere/mactable.prom')]);
    expect([spaced.code, spaced.recap.failed, spaced.recap.changed], spaced.output).toEqual([2, 1, 0]);
    expect(spaced.output).toContain("mactable_metrics_file must be an absolute file path of letters, digits and - _ . + @ : only, not '/var/lib/prometheus/node exporter/mactable.prom'");
    expect([nowhere.code, nowhere.recap.failed, nowhere.recap.changed], nowhere.output).toEqual([2, 1, 0]);
    expect(nowhere.output).toContain(`/var/lib/nowhere is not a directory on kvm${debian}: install prometheus-node-exporter`);
    expect(readFileSync(`${host.path}${DROP_IN}`).equals(dropIn)).toBe(true);
  });
});
