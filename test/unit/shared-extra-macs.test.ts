import { mkdirSync, writeFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/config.js';
import { rootedFs } from '../../src/runtime/fs.js';
import { gatherHost } from '../../src/host/gather.js';
import { guestsInScope, planHost } from '../../src/plan/plan-host.js';
import { TempDir } from '../helpers/temp.js';
import { bridgeNic, statusDomain } from '../helpers/xml.js';

const VRRP = '00:00:5e:00:01:0a';
const extra = (mac: string) => `<mactable:mactable xmlns:mactable='urn:mactable:1'><mactable:interface mac='${mac}'><mactable:mac address='${VRRP}'/></mactable:interface></mactable:mactable>`;

// Two guests claiming one extra MAC on one bridge: only one port can hold its static entry, so neither gets it.
describe('an extra MAC that ports of two guests want on one bridge', () => {
  const temp = new TempDir();
  afterAll(() => temp.cleanup());

  const config = parseConfig('{"bridges": ["br0"]}', 'cfg.json');
  const problem = `extra MAC ${VRRP} refused on bridge br0: ports r1/vnet1, r2/vnet2 all want it, and a MAC can have a static entry on one port only`;
  mkdirSync(`${temp.path}/run/libvirt/qemu`, { recursive: true });
  for (const [name, mac, tap] of [['r1', '52:54:00:00:09:01', 'vnet1'], ['r2', '52:54:00:00:09:02', 'vnet2']] as const) {
    const xml = statusDomain([bridgeNic(mac, 'br0', tap)], name).replace('<devices>', `<metadata>${extra(mac)}</metadata>\n  <devices>`);
    writeFileSync(`${temp.path}/run/libvirt/qemu/${name}.xml`, xml);
  }

  it('is refused on both, each guest told, when the running guests are planned together', () => {
    const { plans } = planHost(gatherHost(rootedFs(temp.path)), config);
    expect(plans.map((plan) => [plan.domain, plan.ports.map((port) => port.extraMacs), plan.problems])).toEqual([
      ['r1', [[]], [`r1: ${problem}`]],
      ['r2', [[]], [`r2: ${problem}`]],
    ]);
  });

  it('is refused for a guest named alone too (status r1, repair r1): every running guest is planned, then the named taken', () => {
    const { plans, problems } = guestsInScope(gatherHost(rootedFs(temp.path)), config, ['r1']);
    expect(plans.map((plan) => [plan.domain, plan.ports.map((port) => port.extraMacs)])).toEqual([['r1', [[]]]]);
    expect(problems).toEqual([`r1: ${problem}`]);
  });

  it('an unreadable status file is a problem of that guest; the others are planned', () => {
    writeFileSync(`${temp.path}/run/libvirt/qemu/r3.xml`, '<domstatus');
    const { plans, problems, unreadable } = guestsInScope(gatherHost(rootedFs(temp.path)), config, []);
    expect(plans.map((plan) => plan.domain)).toEqual(['r1', 'r2']);
    expect(unreadable).toBe(true);
    expect(problems.at(-1)).toMatch(/^\/run\/libvirt\/qemu\/r3\.xml: not well-formed XML/u);
    expect(() => guestsInScope(gatherHost(rootedFs(temp.path)), config, ['r3'])).toThrow(/^\/run\/libvirt\/qemu\/r3\.xml: not well-formed XML/u);
    expect(() => guestsInScope(gatherHost(rootedFs(temp.path)), config, ['r4'])).toThrow('r4 is not running (no /run/libvirt/qemu/r4.xml)');
  });
});
