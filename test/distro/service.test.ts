import { existsSync, writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Booted, removeBooted } from '../helpers/booted.js';
import { DEB, DebianRoot, RELEASES, type Release, SYSTEMD } from '../helpers/debian-root.js';
import { portProblem } from '../helpers/netns.js';
import { canRun, isRoot, missingTool } from '../helpers/sh.js';
import { eventually } from '../helpers/wait.js';
import { bridgeNic, statusDomain } from '../helpers/xml.js';

const MAC = '52:54:00:5e:00:01';

function missing(): string | null {
  if (!isRoot) return 'it needs root for debootstrap and systemd-nspawn';
  return missingTool({ debootstrap: 'debootstrap', unshare: 'util-linux', 'systemd-nspawn': 'systemd-container', nsenter: 'util-linux' });
}

// The package's unit as systemd runs it (its sandbox, its seccomp filter), not the watcher started by hand: a clean
// Debian root with systemd, Debian's Node.js and the package, booted by systemd-nspawn in a network of its own.
describe.skipIf(!canRun('the unit under systemd (test/distro/service.test.ts)', missing())).each(Object.keys(RELEASES) as Release[])("the watcher's unit under systemd in a Debian %s container", (release) => {
  // systemd as init (the run's cached root with it); the package goes in by apt below.
  const root = new DebianRoot(release, SYSTEMD);
  let booted: Booted | null = null;
  const run = (script: string) => (booted as Booted).run(script);
  // Learning and flooding off on tap0 and the guest's static entry on it, as the container's kernel says.
  const right = async () => (await portProblem((booted as Booted).exec, 'br0', 'tap0', [MAC])) === null;

  beforeAll(async () => {
    await root.create();
    await root.addPackage();
    // The package without libvirt (the unit needs none to start): the maintainer scripts enable the unit, and
    // start nothing in a chroot.
    const apt = await root.run(`apt-get install -y -q --no-install-recommends /tmp/${DEB} > /tmp/apt.log`);
    if (apt.code !== 0) throw new Error(`installing the package in the root failed: ${apt.stderr}`);
    booted = await Booted.boot(root.path);
  }, 900_000);

  afterAll(async () => {
    await removeBooted(booted, root);
    expect(root.path === '' || !existsSync(root.path)).toBe(true);
  }, 300_000);

  it('starts at boot, stays up, holds /run/mactable/watch.lock with its pid, and doctor finds it', async () => {
    expect(await eventually(async () => (await run('systemctl is-active mactable')).stdout === 'active', 30, 200)).toBe(true);
    const pid = (await run('systemctl show -p MainPID --value mactable')).stdout;
    // No restart: a system call the unit's filter refuses would have killed it (SIGSYS) and systemd restarted it.
    expect((await run('systemctl show -p NRestarts --value mactable')).stdout).toBe('0');
    // Active from its start (Type=simple); the lock a moment later.
    expect(await eventually(async () => (await run('cat /run/mactable/watch.lock')).stdout === pid, 10, 100)).toBe(true);
    // A shared lock is refused only while the watcher holds its exclusive one: exit 1.
    expect((await run('flock -n -s /run/mactable/watch.lock true')).code).toBe(1);
    const doctor = JSON.parse((await run('mactable doctor --json')).stdout) as { checks: { check: string; status: string; detail: string }[] };
    expect(doctor.checks.find(({ check }) => check === 'watcher')).toMatchObject({ status: 'ok', detail: `mactable watch runs (pid ${pid})` });
  });

  it("keeps a running guest's port right and logs it to the journal as mactable", async () => {
    // The status file goes in through the root's /var/tmp (nspawn gives the container a tmpfs /tmp and /run), then
    // is renamed into place as libvirt does.
    writeFileSync(`${root.path}/var/tmp/g1.xml`, statusDomain([bridgeNic(MAC, 'br0', 'tap0')], 'g1'));
    const setUp = await run(
      `printf '{ "bridges": ["br0"] }\\n' > /etc/libvirt/mactable.json && ip link add br0 type bridge && ip link set br0 up && ` +
        'ip tuntap add dev tap0 mode tap && ip link set tap0 master br0 && ip link set tap0 up && ' +
        'mkdir -p /run/libvirt/qemu && cp /var/tmp/g1.xml /run/libvirt/qemu/g1.xml.new && mv /run/libvirt/qemu/g1.xml.new /run/libvirt/qemu/g1.xml',
    );
    expect(setUp.code, setUp.stderr).toBe(0);
    expect(await eventually(right, 5, 100)).toBe(true);
    // Drift by hand: the watcher's kernel monitor sees it and puts it back.
    const drift = await run('bridge link set dev tap0 learning on flood on');
    expect(drift.code, drift.stderr).toBe(0);
    expect(await eventually(right, 5, 100)).toBe(true);
    const journal = await run('journalctl -t mactable --no-pager -o cat');
    expect(journal.stdout.split('\n')).toContain(`mactable: g1: tap0 on br0: static entry ${MAC} added, learning off, unicast flooding off (watch)`);
  });
});
