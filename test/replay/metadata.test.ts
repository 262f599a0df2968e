import { describe, expect, it } from 'vitest';
import { bridgeNic } from '../helpers/xml.js';
import { planOf } from '../helpers/plan.js';
import { FIXTURES, runFake } from '../helpers/runtime.js';

// br0 is listed in the config, br-x is not.
const CONFIG = `${FIXTURES}config/metadata.json`;
const ROOT = `${FIXTURES}libvirt-9.0/guest2/root`; // no status file for 'vrrp1': taken as running
const [M1, M2, M3] = ['52:54:00:12:34:01', '52:54:00:12:34:02', '52:54:00:12:34:03'];
const VRRP = '00:00:5e:00:01:0a';
const NS = "xmlns:mactable='urn:mactable:1'";

const user = (mac: string) => `<interface type='user'><mac address='${mac}'/></interface>`;
// Three NICs: M1 on br0 (listed), M2 on br-x (not listed), M3 user networking.
const NICS = [bridgeNic(M1, 'br0', 'vnet1'), bridgeNic(M2, 'br-x', 'vnet2'), user(M3)];

const domain = (metadata: string, nics = NICS) => `<domain type='qemu' id='3'>
  <name>vrrp1</name>
  <metadata>
    ${metadata}
  </metadata>
  <devices>
    ${nics.join('\n    ')}
  </devices>
</domain>
`;

// The plan's problems and per port [manage, reason, extra MACs].
async function rowsOf(xml: string) {
  const plan = await planOf(runFake, '-', ROOT, CONFIG, xml);
  return { problems: plan.problems, ports: plan.ports.map(({ manage, reason, extraMacs }) => [manage, reason, extraMacs]) };
}

const BY_CONFIG: [boolean, string, string[]] = [true, `bridge br0 matches 'br0' in ${CONFIG}`, []];
const NOT_LISTED: [boolean, string, string[]] = [false, `not selected: bridge br-x is not listed in ${CONFIG}`, []];
const USER: [boolean, string, string[]] = [false, "type 'user' is not a bridge port", []];
const NIC_YES: [boolean, string, string[]] = [true, "manage='yes' for this NIC in the guest's metadata", []];
const NIC_NO: [boolean, string, string[]] = [false, "manage='no' for this NIC in the guest's metadata", []];
const GUEST_YES: [boolean, string, string[]] = [true, "manage='yes' for the whole guest in its metadata", []];
const GUEST_NO: [boolean, string, string[]] = [false, "manage='no' for the whole guest in its metadata", []];
const extras = ([manage, reason]: [boolean, string, string[]], macs: string[]) => [manage, reason, macs];

describe('precedence: the NIC in the metadata, then the guest, then the config; never a port that is not a bridge port', () => {
  it.each([
    ['no metadata: the config', '', [BY_CONFIG, NOT_LISTED, USER]],
    ['another namespace is not ours', `<mactable:mactable xmlns:mactable='urn:other:1' manage='no'/>`, [BY_CONFIG, NOT_LISTED, USER]],
    ['guest manage=no', `<mactable:mactable ${NS} manage='no'/>`, [GUEST_NO, GUEST_NO, USER]],
    ['guest manage=yes', `<mactable:mactable ${NS} manage='yes'/>`, [GUEST_YES, GUEST_YES, USER]],
    [
      'NIC manage=no beats the config; NIC manage=yes beats it too',
      `<mactable:mactable ${NS}><mactable:interface mac='${M1}' manage='no'/><mactable:interface mac='${M2}' manage='yes'/></mactable:mactable>`,
      [NIC_NO, NIC_YES, USER],
    ],
    [
      'NIC manage=yes beats guest manage=no',
      `<mactable:mactable ${NS} manage='no'><mactable:interface mac='${M2}' manage='yes'/></mactable:mactable>`,
      [GUEST_NO, NIC_YES, USER],
    ],
    [
      'NIC manage=no beats guest manage=yes',
      `<mactable:mactable ${NS} manage='yes'><mactable:interface mac='${M1}' manage='no'/></mactable:mactable>`,
      [NIC_NO, GUEST_YES, USER],
    ],
    [
      'a NIC that is not a bridge port stays unmanaged, with its reason',
      `<mactable:mactable ${NS} manage='yes'><mactable:interface mac='${M3}' manage='yes'/></mactable:mactable>`,
      [GUEST_YES, GUEST_YES, USER],
    ],
    [
      'an <interface> without manage: the guest, then the config decide; its extra MACs apply',
      `<mactable:mactable ${NS}><mactable:interface mac='${M1}'><mactable:mac address='${VRRP}'/></mactable:interface></mactable:mactable>`,
      [extras(BY_CONFIG, [VRRP]), NOT_LISTED, USER],
    ],
    [
      'extra MACs of an unmanaged NIC are not applied',
      `<mactable:mactable ${NS}><mactable:interface mac='${M2}'><mactable:mac address='${VRRP}'/></mactable:interface></mactable:mactable>`,
      [BY_CONFIG, NOT_LISTED, USER],
    ],
    [
      'MACs match whatever their case; extra MACs are lower-cased',
      `<mactable:mactable ${NS}><mactable:interface mac='${M2.toUpperCase()}' manage='yes'><mactable:mac address='00:00:5E:00:01:0A'/></mactable:interface></mactable:mactable>`,
      [BY_CONFIG, extras(NIC_YES, [VRRP]), USER],
    ],
    ['any prefix', `<m:mactable xmlns:m='urn:mactable:1' manage='no'/>`, [GUEST_NO, GUEST_NO, USER]],
    [
      'a default namespace',
      `<mactable xmlns='urn:mactable:1'><interface mac='${M2}' manage='yes'><mac address='${VRRP}'/></interface></mactable>`,
      [BY_CONFIG, extras(NIC_YES, [VRRP]), USER],
    ],
    ['an undeclared prefix is not ours', `<mactable:mactable manage='no'/>`, [BY_CONFIG, NOT_LISTED, USER]],
  ])('%s', async (_case, metadata, ports) => {
    expect(await rowsOf(domain(metadata))).toEqual({ problems: [], ports });
  });

  it('finds a namespace declared on an ancestor (<metadata>)', async () => {
    const xml = domain(`<x:mactable manage='no'/>`).replace('<metadata>', "<metadata xmlns:x='urn:mactable:1'>");
    expect(await rowsOf(xml)).toEqual({ problems: [], ports: [GUEST_NO, GUEST_NO, USER] });
  });

  it('reads what libvirt 9.0 writes into the status file for `virsh metadata --live --key mactable --set`', async () => {
    // Captured from /run/libvirt/qemu/GUEST.xml: the unprefixed elements of --set put in the key's prefix.
    const written = `<mactable:mactable xmlns:mactable="urn:mactable:1">
        <mactable:interface mac="${M1}" manage="yes">
          <mactable:mac address="${VRRP}"/>
        </mactable:interface>
      </mactable:mactable>`;
    const status = `<domstatus state='running' reason='booted' pid='1'>\n${domain(written)}</domstatus>\n`;
    expect(await rowsOf(status)).toEqual({ problems: [], ports: [extras(NIC_YES, [VRRP]), NOT_LISTED, USER] });
    // A prefixed --set under another key: libvirt keeps the element's own prefix and declares the key's as well.
    expect(await rowsOf(domain(`<m:mactable xmlns:m="urn:mactable:1" xmlns:mtx="urn:mactable:1" manage="no"/>`))).toEqual({ problems: [], ports: [GUEST_NO, GUEST_NO, USER] });
  });
});

describe('extra MACs wanted by two ports of one bridge are refused on both', () => {
  const TWO = [bridgeNic(M1, 'br0', 'vnet1'), bridgeNic(M2, 'br0', 'vnet2'), bridgeNic(M3, 'br-x', 'vnet3')];
  const iface = (mac: string, extra: string, manage = '') => `<mactable:interface mac='${mac}'${manage}><mactable:mac address='${extra}'/></mactable:interface>`;

  it('the same extra MAC on two ports of br0; on another bridge it stands', async () => {
    const metadata = `<mactable:mactable ${NS}>${iface(M1, VRRP)}${iface(M2, VRRP)}${iface(M3, VRRP, " manage='yes'")}</mactable:mactable>`;
    expect(await rowsOf(domain(metadata, TWO))).toEqual({
      problems: [`vrrp1: extra MAC ${VRRP} refused on bridge br0: ports vnet1, vnet2 all want it, and a MAC can have a static entry on one port only`],
      ports: [BY_CONFIG, BY_CONFIG, extras(NIC_YES, [VRRP])],
    });
  });

  it("an extra MAC that is another port's own MAC", async () => {
    const metadata = `<mactable:mactable ${NS}>${iface(M1, M2)}</mactable:mactable>`;
    expect(await rowsOf(domain(metadata, TWO))).toEqual({
      problems: [`vrrp1: extra MAC ${M2} refused on bridge br0: ports vnet1, vnet2 all want it, and a MAC can have a static entry on one port only`],
      ports: [BY_CONFIG, BY_CONFIG, NOT_LISTED],
    });
  });
});

describe('bad metadata: one message naming the guest and what is wrong; the rest of the plan stands', () => {
  const P = 'vrrp1: metadata urn:mactable:1:';
  const goodM2 = `<mactable:interface mac='${M2}' manage='yes'/>`;
  const bad = (element: string) => `<mactable:mactable ${NS}>${element}${goodM2}</mactable:mactable>`;
  const IGNORED = 'this <interface> is ignored';

  it.each([
    [
      'manage="maybe" on the guest: its manage is ignored, the NICs stand',
      `<mactable:mactable ${NS} manage='maybe'>${goodM2}</mactable:mactable>`,
      `${P} <mactable>: manage must be 'yes' or 'no', not 'maybe'; its manage is ignored`,
    ],
    [
      'an unknown attribute on the guest',
      `<mactable:mactable ${NS} manage='no' mange='yes'>${goodM2}</mactable:mactable>`,
      `${P} <mactable>: unknown attribute 'mange' (known: manage); its manage is ignored`,
    ],
    ['manage="maybe" on a NIC', bad(`<mactable:interface mac='${M1}' manage='maybe'/>`), `${P} <interface mac='${M1}'>: manage must be 'yes' or 'no', not 'maybe'; ${IGNORED}`],
    ['an unknown attribute on a NIC', bad(`<mactable:interface mac='${M1}' manage='no' vlan='3'/>`), `${P} <interface mac='${M1}'>: unknown attribute 'vlan' (known: mac, manage); ${IGNORED}`],
    ['a prefixed attribute is not ours', bad(`<mactable:interface mac='${M1}' mactable:manage='no'/>`), `${P} <interface mac='${M1}'>: unknown attribute 'mactable:manage' (known: mac, manage); ${IGNORED}`],
    ['a malformed NIC MAC', bad(`<mactable:interface mac='52:54:00:12:34' manage='no'/>`), `${P} <interface mac='52:54:00:12:34'>: mac '52:54:00:12:34' is not a 6-octet MAC address; ${IGNORED}`],
    ['no NIC MAC', bad(`<mactable:interface manage='no'/>`), `${P} <interface>: no mac attribute; ${IGNORED}`],
    ['a multicast extra MAC', bad(`<mactable:interface mac='${M1}'><mactable:mac address='01:00:5e:00:00:12'/></mactable:interface>`), `${P} <interface mac='${M1}'>: extra MAC '01:00:5e:00:00:12' is a multicast address; ${IGNORED}`],
    ['an all-zero extra MAC', bad(`<mactable:interface mac='${M1}'><mactable:mac address='00:00:00:00:00:00'/></mactable:interface>`), `${P} <interface mac='${M1}'>: extra MAC '00:00:00:00:00:00' is all zeros; ${IGNORED}`],
    ['a malformed extra MAC', bad(`<mactable:interface mac='${M1}'><mactable:mac address='vrrp'/></mactable:interface>`), `${P} <interface mac='${M1}'>: extra MAC 'vrrp' is not a 6-octet MAC address; ${IGNORED}`],
    ['an extra MAC without an address', bad(`<mactable:interface mac='${M1}'><mactable:mac/></mactable:interface>`), `${P} <interface mac='${M1}'>: <mac> without an address; ${IGNORED}`],
    ['an unknown attribute on an extra MAC', bad(`<mactable:interface mac='${M1}'><mactable:mac address='${VRRP}' vid='3'/></mactable:interface>`), `${P} <interface mac='${M1}'>: unknown attribute 'vid' (known: address); ${IGNORED}`],
    ["the NIC's own MAC as an extra", bad(`<mactable:interface mac='${M1}'><mactable:mac address='${M1}'/></mactable:interface>`), `${P} <interface mac='${M1}'>: extra MAC ${M1} is the NIC's own MAC; ${IGNORED}`],
    [
      'an extra MAC listed twice',
      bad(`<mactable:interface mac='${M1}'><mactable:mac address='${VRRP}'/><mactable:mac address='${VRRP.toUpperCase()}'/></mactable:interface>`),
      `${P} <interface mac='${M1}'>: extra MAC ${VRRP} is listed twice; ${IGNORED}`,
    ],
    ['an unknown element in an <interface>', bad(`<mactable:interface mac='${M1}' manage='no'><mactable:vlan id='3'/></mactable:interface>`), `${P} <interface mac='${M1}'>: unknown element <mactable:vlan>; ${IGNORED}`],
    ['an unprefixed element is in no namespace', bad(`<mactable:interface mac='${M1}' manage='no'><mac address='${VRRP}'/></mactable:interface>`), `${P} <interface mac='${M1}'>: unknown element <mac>; ${IGNORED}`],
    ['an unknown element in <mactable>', bad(`<mactable:nic mac='${M1}' manage='no'/>`), `${P} unknown element <mactable:nic> in <mactable>; it is ignored`],
    ['the same NIC twice', bad(`<mactable:interface mac='${M1}' manage='no'/><mactable:interface mac='${M1}' manage='yes'/>`), `${P} <interface mac='${M1}'> appears 2 times; all are ignored`],
    ['every problem of one element in one message', bad(`<mactable:interface mac='${M1}' manage='maybe' x='1'/>`), `${P} <interface mac='${M1}'>: unknown attribute 'x' (known: mac, manage); manage must be 'yes' or 'no', not 'maybe'; ${IGNORED}`],
  ])('%s', async (_case, metadata, problem) => {
    // M1 falls back to the config (br0 is listed); M2's good <interface> stands.
    expect(await rowsOf(domain(metadata))).toEqual({ problems: [problem], ports: [BY_CONFIG, NIC_YES, USER] });
  });

  it('two <mactable> elements: both ignored', async () => {
    const metadata = `<mactable:mactable ${NS} manage='no'/><m:mactable xmlns:m='urn:mactable:1' manage='yes'/>`;
    expect(await rowsOf(domain(metadata))).toEqual({ problems: [`${P} 2 <mactable> elements, expected one; all are ignored`], ports: [BY_CONFIG, NOT_LISTED, USER] });
  });

  it('control characters in a value are escaped', async () => {
    const metadata = bad(`<mactable:interface mac='${M1}' manage='n\to'/>`);
    expect((await rowsOf(domain(metadata))).problems).toEqual([`${P} <interface mac='${M1}'>: manage must be 'yes' or 'no', not 'n\\x09o'; ${IGNORED}`]);
  });
});

describe('where the problems go', () => {
  const xml = domain(`<mactable:mactable ${NS} manage='maybe'/>`);
  const problem = "vrrp1: metadata urn:mactable:1: <mactable>: manage must be 'yes' or 'no', not 'maybe'; its manage is ignored";

  it('plan prints a table on stdout and the warning on stderr, exit 0', async () => {
    const result = await runFake(['plan', '--root', ROOT, '--config', CONFIG, '-'], { stdin: xml });
    expect(result).toMatchObject({ code: 0, stderr: `mactable: warning: ${problem}\n` });
    expect(result.stdout.split('\n')[0]).toBe('vrrp1: 3 interfaces, 1 managed');
  });

  it('the hook warns on stderr and in the system log and never fails for it, even on `started` with onError fail', async () => {
    const result = await runFake(['hook', 'qemu', 'vrrp1', 'started', 'begin', '-'], {
      stdin: xml.replace(/<devices>[^]*<\/devices>/u, '<devices/>'),
      env: { MACTABLE_ROOT: ROOT, MACTABLE_CONFIG: CONFIG },
    });
    expect(result).toMatchObject({ code: 0, stdout: '', stderr: `mactable: warning: ${problem}\n`, syslog: [{ level: 'warning', text: `${problem} (started)` }] });
  });

  it('plan shows the extra MACs in a column of their own, only when a port has some', async () => {
    const metadata = `<mactable:mactable ${NS}><mactable:interface mac='${M1}'><mactable:mac address='${VRRP}'/><mactable:mac address='02:00:00:00:00:01'/></mactable:interface></mactable:mactable>`;
    const result = await runFake(['plan', '--root', ROOT, '--config', CONFIG, '-'], { stdin: domain(metadata) });
    expect(result.stdout.split('\n').slice(1, 3)).toEqual([
      'TAP    MAC                EXTRA MACS                           BRIDGE  NETWORK  TYPE    MANAGE  REASON',
      `vnet1  ${M1}  ${VRRP},02:00:00:00:00:01  br0     -        bridge  yes     bridge br0 matches 'br0' in ${CONFIG}`,
    ]);
  });
});
