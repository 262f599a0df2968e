import { copyFileSync, existsSync, readFileSync, readdirSync, renameSync, writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Booted, removeBooted } from '../helpers/booted.js';
import { DebianRoot, RELEASES, type Release, SYSTEMD, VERSION } from '../helpers/debian-root.js';
import { canRun, isRoot, missingTool } from '../helpers/sh.js';
import { eventually } from '../helpers/wait.js';
import { bridgeNic, statusDomain } from '../helpers/xml.js';

const HOOK = '/etc/libvirt/hooks/qemu.d/mactable';
const CONFFILE = '/etc/libvirt/mactable.json';
// The administrator's own config, not the package's: dpkg must keep it through every upgrade and downgrade.
const LOCAL_CONFIG = '{\n  "bridges": ["br0"],\n  "onError": "warn"\n}\n';
// The same tree built as a later version: the upgrade's other side.
const NEXT = `${VERSION}.1`;
const GUESTS = 10;
const SAMPLER = new URL('../helpers/port-sampler.mjs', import.meta.url).pathname;

// Inside the container, until /var/tmp/stop-starter-PHASE exists (then it leaves /var/tmp/starter-PHASE.done): start a guest with one NIC as libvirt does (tap on br0,
// then the qemu hook's `started` if qemu.d holds it, then the status file), one after the other, and note per
// guest: name, ns before and after the hook, hook there (1/0), its exit code, learning, unicast_flood, entries.
const STARTER = `phase=$1; i=0
while [ ! -e "/var/tmp/stop-starter-$phase" ]; do
  i=$((i + 1)); name="$phase$i"; mac=$(printf '52:54:00:7%s:%02x:%02x' "$2" $((i / 256)) $((i % 256)))
  ip tuntap add dev "$name" mode tap && ip link set "$name" master br0 && ip link set "$name" up
  nic="<interface type='bridge'><mac address='$mac'/><source bridge='br0'/><target dev='$name'/></interface>"
  domain="<domain type='qemu' id='7'><name>$name</name><devices>$nic</devices></domain>"
  before=$(date +%s%N); hook=0; code=-
  if [ -x ${HOOK} ]; then hook=1; printf '%s' "$domain" | ${HOOK} "$name" started begin - > /dev/null 2>&1; code=$?; fi
  after=$(date +%s%N)
  entries=$(bridge fdb show br br0 brport "$name" | grep -c "^$mac .*static")
  echo "$name $before $after $hook $code $(cat /sys/class/net/$name/brport/learning) $(cat /sys/class/net/$name/brport/unicast_flood) $entries" >> "/var/tmp/starts-$phase"
  printf "<domstatus state='running' reason='booted' pid='4242'>%s</domstatus>\\n" "$domain" > "/run/libvirt/qemu/$name.xml.new"
  mv "/run/libvirt/qemu/$name.xml.new" "/run/libvirt/qemu/$name.xml"
done
touch "/var/tmp/starter-$phase.done"
`;

interface Sampled {
  samples: number;
  ports: number;
  wrong: number;
  firstWrong: unknown[];
  notStatic: string[];
  hookMissing: number;
  gapMs: { median: number; p99: number; max: number };
}

interface Started {
  name: string;
  before: number;
  after: number;
  hook: string;
  code: string;
  learning: string;
  flood: string;
  entries: string;
}

interface Phase {
  sampled: Sampled;
  starts: Started[];
  apt: { code: number; stderr: string; startNs: number; endNs: number };
}

function missing(): string | null {
  if (!isRoot) return 'it needs root for debootstrap and systemd-nspawn';
  return missingTool({ debootstrap: 'debootstrap', unshare: 'util-linux', 'systemd-nspawn': 'systemd-container', nsenter: 'util-linux' });
}

// What an upgrade, a downgrade and a removal do to a host whose guests run: the package's maintainer scripts under
// systemd (a booted Debian root in a network of its own), 10 guests × 2 NICs on br0 as status files and taps, the
// watcher running as the unit. Every port is sampled every 10 ms while apt runs, and guests keep starting.
describe.skipIf(!canRun('upgrades with guests running (test/distro/upgrade.test.ts)', missing())).each(Object.keys(RELEASES) as Release[])(
  'apt upgrades, downgrades and removes mactable with guests running on Debian %s',
  (release) => {
    const root = new DebianRoot(release, SYSTEMD);
    let booted: Booted | null = null;
    const run = (script: string) => (booted as Booted).run(script);
    const watcher = async () => (await run('systemctl show -p MainPID --value mactable')).stdout;
    const guestPorts = Array.from({ length: GUESTS }, (_, guest) =>
      [0, 1].map((nic) => ({ tap: `g${guest}n${nic}`, mac: `52:54:00:6${nic}:00:${guest.toString(16).padStart(2, '0')}` })),
    );

    // One phase: the sampler (real-time priority: apt and the guests' hooks must not stretch its 10 ms) and (with
    // `starting`) the guest starter running from before apt to after it, apt itself.
    const phase = async (name: string, apt: string, starting: boolean): Promise<Phase> => {
      const out = `/var/tmp/sample-${name}.json`;
      await run(`rm -f /var/tmp/stop-${name} ${out}*; chrt -f 50 node /var/tmp/port-sampler.mjs br0 ${out} /var/tmp/stop-${name} ${starting ? 'hook' : ''} > /var/tmp/sampler-${name}.log 2>&1 &`);
      expect(await eventually(() => existsSync(`${root.path}${out}.running`), 10, 20)).toBe(true);
      const starts = () => (existsSync(`${root.path}/var/tmp/starts-${name}`) ? readFileSync(`${root.path}/var/tmp/starts-${name}`, 'utf8').split('\n').filter(Boolean) : []);
      if (starting) {
        await run(`sh /var/tmp/starter.sh ${name} ${name === 'up' ? 1 : 2} > /var/tmp/starter-${name}.log 2>&1 &`);
        expect(await eventually(() => starts().length > 0, 10, 20)).toBe(true);
      }
      const result = await run(`date +%s%N; ${apt} > /var/tmp/apt-${name}.log; code=$?; date +%s%N; exit $code`);
      const [startNs, endNs] = result.stdout.split('\n').map(Number) as [number, number];
      // One guest more, started by the hook after apt returned, then the starter stops, then the sampler.
      if (starting) {
        expect(await eventually(() => starts().some((line) => Number(line.split(' ')[1]) > endNs), 10, 20), 'a guest started by the hook after apt returned').toBe(true);
        writeFileSync(`${root.path}/var/tmp/stop-starter-${name}`, '');
        expect(await eventually(() => existsSync(`${root.path}/var/tmp/starter-${name}.done`), 10, 20)).toBe(true);
      }
      writeFileSync(`${root.path}/var/tmp/stop-${name}`, '');
      expect(await eventually(() => existsSync(`${root.path}${out}`), 10, 20)).toBe(true);
      const parsed = starts().map((line) => {
        const [guest, before, after, hook, code, learning, flood, entries] = line.split(' ') as string[];
        return { name: guest, before: Number(before), after: Number(after), hook, code, learning, flood, entries } as Started;
      });
      const sampled = JSON.parse(readFileSync(`${root.path}${out}`, 'utf8')) as Sampled;
      process.stderr.write(
        `distro: Debian ${RELEASES[release].debian} ${name}: apt ${((endNs - startNs) / 1e9).toFixed(1)} s, ${sampled.samples} samples of up to ${sampled.ports} ports ` +
          `(gap median ${sampled.gapMs.median} ms, p99 ${sampled.gapMs.p99} ms, max ${sampled.gapMs.max} ms), ${sampled.wrong} wrong, ` +
          `${parsed.filter((start) => start.before >= startNs && start.after <= endNs).length} of ${parsed.length} guests started while apt ran\n`,
      );
      return { sampled, starts: parsed, apt: { code: result.code, stderr: result.stderr, startNs, endNs } };
    };

    // A phase where every sample was right and every guest started (before, during and after apt) was managed by the hook.
    const expectManaged = ({ sampled, starts, apt }: Phase) => {
      expect(apt.code, apt.stderr).toBe(0);
      expect([sampled.wrong, sampled.firstWrong, sampled.notStatic, sampled.hookMissing]).toEqual([0, [], [], 0]);
      // The guests of the set-up, of this phase and of the phases before it.
      expect(sampled.ports).toBe(readdirSync(`${root.path}/var/tmp`).filter((file) => file.startsWith('starts-')).reduce((sum, file) => sum + readFileSync(`${root.path}/var/tmp/${file}`, 'utf8').split('\n').filter(Boolean).length, GUESTS * 2));
      expect(starts.filter((start) => start.before >= apt.startNs && start.after <= apt.endNs).length).toBeGreaterThan(0);
      expect(starts.filter((start) => `${start.hook} ${start.code} ${start.learning} ${start.flood} ${start.entries}` !== '1 0 0 0 1')).toEqual([]);
      // Sampled every 10 ms: half the gaps at most 15 ms, none over 250 ms (a busy machine stretches some; the log says
      // how far): a sampler that stalled through apt's run would have seen nothing.
      expect(sampled.gapMs.median).toBeLessThanOrEqual(15);
      expect(sampled.gapMs.max).toBeLessThanOrEqual(250);
    };

    beforeAll(async () => {
      await root.create();
      // Both versions into /var/tmp (the container's /tmp is a tmpfs of its own); the older one installed now.
      for (const version of [VERSION, NEXT]) renameSync(`${root.path}${await root.addPackage(version)}`, `${root.path}/var/tmp/mactable_${version}_all.deb`);
      const apt = await root.run(`apt-get install -y -q --no-install-recommends /var/tmp/mactable_${VERSION}_all.deb > /tmp/apt.log`);
      if (apt.code !== 0) throw new Error(`installing mactable ${VERSION} in the root failed: ${apt.stderr}`);
      writeFileSync(`${root.path}${CONFFILE}`, LOCAL_CONFIG);
      copyFileSync(SAMPLER, `${root.path}/var/tmp/port-sampler.mjs`);
      writeFileSync(`${root.path}/var/tmp/starter.sh`, STARTER);
      for (const [guest, nics] of guestPorts.entries()) {
        writeFileSync(`${root.path}/var/tmp/g${guest}.xml`, statusDomain(nics.map(({ mac, tap }) => bridgeNic(mac, 'br0', tap)), `g${guest}`));
      }
      booted = await Booted.boot(root.path);
      // The guests' taps on br0 and their status files, renamed into place as libvirt does; the watcher makes them right.
      const taps = guestPorts.flat().map(({ tap }) => `ip tuntap add dev ${tap} mode tap && ip link set ${tap} master br0 && ip link set ${tap} up`);
      const setUp = await run(
        ['ip link add br0 type bridge', 'ip link set br0 up', ...taps, 'mkdir -p /run/libvirt/qemu'].join(' && ') +
          `; for guest in $(seq 0 ${GUESTS - 1}); do cp /var/tmp/g$guest.xml /run/libvirt/qemu/g$guest.xml.new && mv /run/libvirt/qemu/g$guest.xml.new /run/libvirt/qemu/g$guest.xml; done`,
      );
      expect(setUp.code, setUp.stderr).toBe(0);
      expect(await eventually(async () => (await run('systemctl is-active mactable')).stdout === 'active', 30, 200)).toBe(true);
      // Every port right before apt runs: learning and flooding off, the guest's static entry.
      const allRight = async () => {
        const fdb = (await run('bridge fdb show br br0 | grep static')).stdout;
        const flags = (await run(`cd /sys/class/net/br0/brif && cat ${guestPorts.flat().map(({ tap }) => `${tap}/learning ${tap}/unicast_flood`).join(' ')}`)).stdout;
        return flags.split('\n').every((flag) => flag === '0') && guestPorts.flat().every(({ mac, tap }) => fdb.includes(`${mac} dev ${tap} master br0 static`));
      };
      expect(await eventually(allRight, 10, 100)).toBe(true);
    }, 900_000);

    afterAll(async () => {
      await removeBooted(booted, root);
      expect(root.path === '' || !existsSync(root.path)).toBe(true);
    }, 300_000);

    // Where dpkg would have left the package's config beside the administrator's (it must not: the file is theirs).
    const conffileCopies = () => readdirSync(`${root.path}/etc/libvirt`).filter((file) => file.startsWith('mactable.json.'));

    it.each([
      ['up', `apt-get install -y -q /var/tmp/mactable_${NEXT}_all.deb`, NEXT],
      ['down', `apt-get install -y -q --allow-downgrades /var/tmp/mactable_${VERSION}_all.deb`, VERSION],
    ])('%sgrade: no port ever wrong, the hook always there, the watcher restarted, the local config kept', async (name, apt, version) => {
      const before = await watcher();
      expect(Number(before)).toBeGreaterThan(0);
      const result = await phase(name, apt, true);
      expectManaged(result);
      expect((await run("dpkg-query -W -f '${Version}' mactable")).stdout).toBe(version);
      // The watcher runs again, as a new process started by the new package's postinst, without a crash restart.
      const after = await watcher();
      expect([Number(after) > 0, after !== before, (await run('systemctl is-active mactable')).stdout]).toEqual([true, true, 'active']);
      expect((await run('systemctl show -p NRestarts --value mactable')).stdout).toBe('0');
      expect(readFileSync(`${root.path}${CONFFILE}`, 'utf8')).toBe(LOCAL_CONFIG);
      expect(conffileCopies()).toEqual([]);
    });

    it('remove: every port stays as it was, the hook and the watcher go, the config stays', async () => {
      const result = await phase('remove', 'apt-get remove -y -q mactable', false);
      expect(result.apt.code, result.apt.stderr).toBe(0);
      expect([result.sampled.wrong, result.sampled.firstWrong, result.sampled.notStatic]).toEqual([0, [], []]);
      expect((await run("dpkg-query -W -f '${db:Status-Status}' mactable")).stdout).toBe('config-files');
      expect(existsSync(`${root.path}${HOOK}`)).toBe(false);
      expect((await run('systemctl is-active mactable')).stdout).toBe('inactive');
      expect(readFileSync(`${root.path}${CONFFILE}`, 'utf8')).toBe(LOCAL_CONFIG);
    });
  },
);
