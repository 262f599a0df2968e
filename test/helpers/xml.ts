import { renameSync, writeFileSync } from 'node:fs';

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

// The daemon's status file for a guest (<domstatus> around the live <domain>), as in /run/libvirt/qemu; `job`: the
// async job libvirt runs on it ('migration out'), as it writes it before the <domain>.
export function statusDomain(nics: string[], name = 'guest1', state = 'running', reason = 'booted', job?: string): string {
  const jobLine = job === undefined ? '' : `\n  <job type='none' async='${job}' phase='begin3' flags='0x101'/>`;
  return `<domstatus state='${state}' reason='${reason}' pid='4242'>${jobLine}\n  ${liveDomain(nics, name).replace(/\n/gu, '\n  ')}</domstatus>\n`;
}

// Write a guest's status file as libvirt does: NAME.xml.new, renamed over NAME.xml (a watcher sees one rename).
export function writeStatus(dir: string, name: string, nics: string[], state = 'running', reason = 'booted', job?: string): void {
  writeFileSync(`${dir}/${name}.xml.new`, statusDomain(nics, name, state, reason, job));
  renameSync(`${dir}/${name}.xml.new`, `${dir}/${name}.xml`);
}
