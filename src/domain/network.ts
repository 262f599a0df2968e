import { InputError } from '../runtime/errors.js';
import type { NetworkDef, PortPlug } from '../model/facts.js';
import { attr, child, parseXml, rootNames } from './xml.js';

// Parse a <networkport> document.
export function parsePortPlug(xml: string, what: string): PortPlug {
  const doc = parseXml(xml, what);
  const port = child(doc, 'networkport');
  if (!port) throw new InputError(`${what}: expected <networkport>, found <${rootNames(doc)[0] ?? 'nothing'}>`);
  const plug = child(port, 'plug');
  return { plugType: attr(plug, 'type'), bridge: attr(plug, 'bridge'), macTableManager: attr(plug, 'macTableManager') };
}

// Parse a <network> definition, or the <networkstatus> libvirt keeps around it while it runs.
export function parseNetworkDef(xml: string, what: string): NetworkDef {
  const doc = parseXml(xml, what);
  const network = child(doc, 'network') ?? child(child(doc, 'networkstatus'), 'network');
  if (!network) throw new InputError(`${what}: expected <network>, found <${rootNames(doc)[0] ?? 'nothing'}>`);
  const bridge = child(network, 'bridge');
  return {
    bridge: attr(bridge, 'name'),
    macTableManager: attr(bridge, 'macTableManager'),
    forwardMode: attr(child(network, 'forward'), 'mode'),
    virtualport: attr(child(network, 'virtualport'), 'type'),
  };
}
