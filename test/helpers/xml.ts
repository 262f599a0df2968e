// A live domain XML (as libvirt hands the hook) around the given <interface> elements.
export function liveDomain(nics: string[], name = 'guest1'): string {
  return `<domain type='qemu' id='7'>
  <name>${name}</name>
  <devices>
${nics.map((nic) => `    ${nic}`).join('\n')}
  </devices>
</domain>
`;
}

// A `type='bridge'` NIC on BRIDGE with tap TAP and MAC.
export function bridgeNic(mac: string, bridge: string, tap: string): string {
  return `<interface type='bridge'><mac address='${mac}'/><source bridge='${bridge}'/><target dev='${tap}'/></interface>`;
}

// The daemon's status file for a running guest (<domstatus> around the live <domain>), as in /run/libvirt/qemu.
export function statusDomain(nics: string[], name = 'guest1'): string {
  return `<domstatus state='running' reason='booted' pid='4242'>\n  ${liveDomain(nics, name).replace(/\n/gu, '\n  ')}</domstatus>\n`;
}
