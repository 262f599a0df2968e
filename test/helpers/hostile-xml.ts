import fc from 'fast-check';

// Names as libvirt, an administrator or an attacker might write them: valid ones that exist in the test's
// trees, and every kind of trouble the issue lists (traversal, overlong, NUL, newlines, unicode, '-options').
export const hostileName = fc.oneof(
  fc.constantFrom('br0', 'br1', 'tap0', 'tap1', 'vnet0', 'mtm', 'default'),
  fc.constantFrom('../../etc', '..', '.', '', 'a/b', '/', 'x'.repeat(16), 'tap\u00000', 'tap\n0', 'tap 0', 'tap:0'),
  fc.constantFrom('-rf', '--help', '-j', '#tap', "ta'p", 'ta"p', 'ünïcødé', '\u202etap', 'tap\t0', '%s%n'),
  fc.string({ maxLength: 20 }),
  fc.string({ unit: 'binary', maxLength: 12 }),
);

export const hostileMac = fc.oneof(
  fc.constantFrom('52:54:00:00:00:01', '52:54:00:AB:cd:02', '02:00:00:00:00:99'),
  fc.constantFrom('01:00:5e:00:00:01', 'ff:ff:ff:ff:ff:ff', '00:00:00:00:00:00', '52:54:00:00:00', '52-54-00-00-00-01', '-x'),
  fc.string({ maxLength: 20 }),
);

const NIC_TYPES = ['bridge', 'network', 'ethernet', 'user', 'direct', 'hostdev', 'vhostuser', 'vdpa', 'server', 'mcast', 'null', 'vds'];

// Text for an attribute value: escaped as XML requires, or (sometimes) raw, which may break the document.
const attrValue = (raw: boolean) => (value: string) =>
  raw ? value : value.replace(/&/gu, '&amp;').replace(/</gu, '&lt;').replace(/'/gu, '&apos;').replace(/"/gu, '&quot;');

const element = (name: string, attrs: Record<string, string | undefined>, raw: boolean) => {
  const text = Object.entries(attrs)
    .filter(([, value]) => value !== undefined)
    .map(([key, value]) => ` ${key}='${attrValue(raw)(value as string)}'`)
    .join('');
  return `<${name}${text}/>`;
};

// One <interface> with any mix of parts: missing, duplicated, or hostile.
const anyNic = fc
  .record(
    {
      type: fc.option(fc.oneof(fc.constantFrom(...NIC_TYPES), fc.string({ maxLength: 8 })), { nil: undefined }),
      macs: fc.array(hostileMac, { maxLength: 2 }),
      bridge: fc.option(hostileName, { nil: undefined }),
      network: fc.option(hostileName, { nil: undefined }),
      portid: fc.option(fc.oneof(fc.uuid(), hostileName), { nil: undefined }),
      tap: fc.option(hostileName, { nil: undefined }),
      managed: fc.option(fc.constantFrom('no', 'yes', ''), { nil: undefined }),
      virtualport: fc.option(fc.constantFrom('openvswitch', 'midonet', '802.1Qbh', ''), { nil: undefined }),
      actual: fc.option(fc.record({ type: fc.constantFrom('bridge', 'network', 'direct', 'hostdev'), bridge: hostileName }), { nil: undefined }),
      raw: fc.boolean(),
    },
    { requiredKeys: [] },
  )
  .map((nic) => {
    const raw = nic.raw === true;
    const parts = [
      ...(nic.macs ?? []).map((mac) => element('mac', { address: mac }, raw)),
      nic.bridge !== undefined || nic.network !== undefined || nic.portid !== undefined
        ? element('source', { bridge: nic.bridge, network: nic.network, portid: nic.portid }, raw)
        : '',
      nic.tap !== undefined ? element('target', { dev: nic.tap, managed: nic.managed }, raw) : '',
      nic.virtualport !== undefined ? element('virtualport', { type: nic.virtualport || undefined }, raw) : '',
      nic.actual ? `<actual type='${nic.actual.type}'>${element('source', { bridge: nic.actual.bridge }, raw)}</actual>` : '',
    ];
    return `<interface${nic.type === undefined ? '' : ` type='${attrValue(raw)(nic.type)}'`}>${parts.join('')}</interface>`;
  });

// A NIC mactable would manage on the test's trees (bridges br0, br1; taps tap0, tap1, vnet0), so runs reach the apply path.
const plausibleNic = fc
  .record({
    mac: fc.constantFrom('52:54:00:00:00:01', '52:54:00:00:00:02'),
    bridge: fc.constantFrom('br0', 'br1'),
    tap: fc.constantFrom('tap0', 'tap1', 'vnet0', 'gone0'),
    ethernet: fc.boolean(),
  })
  .map(({ mac, bridge, tap, ethernet }) =>
    ethernet
      ? `<interface type='ethernet'><mac address='${mac}'/><target dev='${tap}' managed='no'/></interface>`
      : `<interface type='bridge'><mac address='${mac}'/><source bridge='${bridge}'/><target dev='${tap}'/></interface>`,
  );

export const hostileNic = fc.oneof({ arbitrary: plausibleNic, weight: 1 }, { arbitrary: anyNic, weight: 2 });

// A whole document: live XML or a status file, with odd prologues, or (rarely) something that is not a domain.
export const hostileDomain = fc
  .record({
    nics: fc.array(hostileNic, { maxLength: 6 }),
    name: hostileName,
    status: fc.boolean(),
    prologue: fc.constantFrom('', '', '', "<?xml version='1.0' encoding='UTF-8'?>\n", "<?xml version='1.0' encoding='ISO-8859-1'?>", '\uFEFF', '<!-- a comment -->\n', '<!DOCTYPE domain>'),
    root: fc.constantFrom('domain', 'domain', 'domain', 'domain', 'domain', 'network', 'interface', 'x'),
    trailer: fc.constantFrom('', '', '', '\n', '<extra/>', 'garbage', '<!-- end -->'),
  })
  .map(({ nics, name, status, prologue, root, trailer }) => {
    const body = `<${root} type='qemu' id='1'><name>${attrValue(false)(name)}</name><devices>${nics.join('')}</devices></${root}>`;
    return `${prologue}${status ? `<domstatus state='running'>${body}</domstatus>` : body}${trailer}`;
  });
