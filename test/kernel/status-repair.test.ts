import { unlinkSync, writeFileSync } from 'node:fs';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runDist } from '../helpers/dist.js';
import { Netns } from '../helpers/netns.js';
import { kernelSuite } from '../helpers/sh.js';
import { TempDir } from '../helpers/temp.js';
import { bridgeNic, statusDomain } from '../helpers/xml.js';

const MACS = ['52:54:00:00:01:01', '52:54:00:00:01:02', '52:54:00:00:01:03'];

describe.skipIf(!kernelSuite('test/kernel/status-repair.test.ts'))(
  'status and repair on real bridges, in a network namespace',
  () => {
    const temp = new TempDir();
    const config = temp.json('cfg.json', { bridges: ['br0'] });
    const { root, qemu, env } = temp.hostRoot();
    let ns: Netns;

    const guest = (name: string, xml: string) => writeFileSync(`${qemu}/${name}.xml`, xml);
    const mactable = (...argv: string[]) => runDist([...argv, '--root', root, '--config', config], { netns: ns, env });
    const statusJson = async () => {
      const result = await mactable('status', '--json');
      return { code: result.code, ports: JSON.parse(result.stdout).ports as { tap: string; verdict: string; drift: string[] }[] };
    };

    beforeEach(async () => {
      ns = await Netns.create();
      await ns.bridge('br0');
      await ns.bridge('br1');
      for (const tap of ['tap0', 'tap1', 'tap2']) await ns.tap(tap, 'br0');
      await ns.tap('tap9', 'br1');
      guest('guest1', statusDomain([0, 1, 2].map((i) => bridgeNic(MACS[i] as string, 'br0', `tap${i}`))));
      guest('guest2', statusDomain([bridgeNic('52:54:00:00:02:01', 'br1', 'tap9')], 'guest2'));
      expect((await mactable('repair', '--all')).code).toBe(0);
    });
    afterEach(async () => {
      await ns?.remove();
      unlinkSync(`${qemu}/guest1.xml`);
      unlinkSync(`${qemu}/guest2.xml`);
    });
    afterAll(() => temp.cleanup());

    it('shows every port ok or unmanaged and exits 0 when nothing drifted', async () => {
      expect(await statusJson()).toEqual({
        code: 0,
        ports: [
          ...[0, 1, 2].map((i) => expect.objectContaining({ tap: `tap${i}`, verdict: 'ok', drift: [] })),
          expect.objectContaining({ tap: 'tap9', verdict: 'unmanaged', drift: [] }),
        ],
      });
    });

    it('prints an aligned table with the kernel state', async () => {
      const result = await mactable('status', 'guest1');
      expect(result.code).toBe(0);
      expect(result.stdout.split('\n')[0]).toBe('GUEST   TAP   MAC                BRIDGE  LEARNING  FLOOD  ENTRY   VERDICT  WHY');
      expect(result.stdout.split('\n')[1]).toBe(`guest1  tap0  ${MACS[0]}  br0     off       off    static  ok       bridge br0 matches 'br0' in ${config}`);
    });

    it.each([
      ['learning turned on', ['bridge', 'link', 'set', 'dev', 'tap1', 'learning', 'on'], ['learning on']],
      ['flooding turned on', ['bridge', 'link', 'set', 'dev', 'tap1', 'flood', 'on'], ['unicast flooding on']],
      ['the entry deleted', ['bridge', 'fdb', 'del', MACS[1] as string, 'dev', 'tap1', 'master'], [`no entry for ${MACS[1]}`]],
      // Without a state keyword iproute2 makes a local entry, which delivers the guest's frames to the host.
      ['the entry made local', ['bridge', 'fdb', 'replace', MACS[1] as string, 'dev', 'tap1', 'master'], [`entry for ${MACS[1]} is permanent, not static`]],
      ['the tap moved to another bridge', ['ip', 'link', 'set', 'tap1', 'master', 'br1'], ['tap tap1 is a port of br1, not of br0']],
      ['the tap deleted', ['ip', 'link', 'del', 'tap1'], ['tap tap1 does not exist']],
    ])('%s: drift with what differs, exit 1', async (_case, command, drift) => {
      await ns.exec(...(command as [string, ...string[]]));
      const { code, ports } = await statusJson();
      expect(code).toBe(1);
      expect(ports[1]).toMatchObject({ tap: 'tap1', verdict: 'drift', drift });
      expect(ports.filter((port) => port.verdict === 'drift')).toHaveLength(1);
    });

    it('repair --dry-run says what drifted and changes nothing; repair restores it; status is 0 again', async () => {
      await ns.exec('bridge', 'link', 'set', 'dev', 'tap0', 'learning', 'on');
      await ns.exec('bridge', 'fdb', 'del', MACS[2] as string, 'dev', 'tap2', 'master');
      const dry = await mactable('repair', '--dry-run', 'guest1');
      expect(dry).toEqual({
        code: 0,
        stdout: `guest1: tap0 on br0: would repair: learning on\nguest1: tap2 on br0: would repair: no entry for ${MACS[2]}\n`,
        stderr: '',
      });
      expect(await ns.portState('tap0')).toEqual({ learning: true, flood: false });

      const repair = await mactable('repair', 'guest1');
      expect(repair).toEqual({ code: 0, stdout: `guest1: tap0 on br0: learning off\nguest1: tap2 on br0: static entry ${MACS[2]} added\n`, stderr: '' });
      expect((await statusJson()).code).toBe(0);
      expect(await mactable('repair', '--all')).toEqual({ code: 0, stdout: '', stderr: '' });
    });

    it("extra MACs from the guest's metadata: shown, a missing one is drift, repair adds it; an unlisted static entry is removed", async () => {
      const VRRP = '00:00:5e:00:01:0a';
      const metadata = `<metadata><m:mactable xmlns:m='urn:mactable:1'><m:interface mac='${MACS[0]}'><m:mac address='${VRRP}'/></m:interface></m:mactable></metadata>`;
      guest('guest1', statusDomain([0, 1, 2].map((i) => bridgeNic(MACS[i] as string, 'br0', `tap${i}`))).replace('<devices>', `${metadata}<devices>`));
      const missing = await mactable('status', '--json', 'guest1');
      expect(missing.code).toBe(1);
      expect(JSON.parse(missing.stdout).ports[0]).toMatchObject({ extraMacs: [VRRP], verdict: 'drift', drift: [`no entry for ${VRRP}`], state: { extraEntries: [{ mac: VRRP, entry: null }] } });
      expect(await mactable('repair', 'guest1')).toEqual({ code: 0, stdout: `guest1: tap0 on br0: static entry ${VRRP} added\n`, stderr: '' });
      const table = (await mactable('status', 'guest1')).stdout.split('\n');
      expect(table[0]).toBe('GUEST   TAP   MAC                BRIDGE  LEARNING  FLOOD  ENTRY   EXTRA                     VERDICT  WHY');
      expect(table[1]).toBe(`guest1  tap0  ${MACS[0]}  br0     off       off    static  ${VRRP}=static  ok       bridge br0 matches 'br0' in ${config}`);

      // Someone's static entry on a managed port: taken as a leftover, since learning is off there.
      await ns.exec('bridge', 'fdb', 'add', '02:00:00:00:00:09', 'dev', 'tap1', 'master', 'static');
      const stale = await statusJson();
      expect(stale.ports[1]).toMatchObject({ verdict: 'drift', drift: ['unlisted static entry 02:00:00:00:00:09'] });
      expect(await mactable('repair', 'guest1')).toEqual({ code: 0, stdout: 'guest1: tap1 on br0: entry 02:00:00:00:00:09 deleted\n', stderr: '' });
      expect((await ns.staticEntries('br0')).map(({ mac }) => mac).sort()).toEqual([VRRP, ...MACS].sort());
    });

    it('repair names what it cannot fix and exits 1', async () => {
      await ns.ip('link', 'del', 'tap1');
      const repair = await mactable('repair', '--all');
      expect(repair).toEqual({ code: 1, stdout: '', stderr: 'mactable: guest1: tap1 on br0: tap tap1 does not exist\n' });
    });

    it.each([
      [['repair'], 'mactable: name the guests to repair, or give --all\n'],
      [['status', 'nosuch'], `mactable: nosuch is not running (no /run/libvirt/qemu/nosuch.xml)\n`],
      [['status', '../etc'], "mactable: guest name '../etc' contains '/', a newline or NUL\n"],
    ])('%j: exit 2 with the reason', async (argv, stderr) => {
      expect(await mactable(...argv)).toEqual({ code: 2, stdout: '', stderr });
    });
  },
);
