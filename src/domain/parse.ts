import { InputError } from '../runtime/errors.js';
import { printable } from './names.js';
import { attr, child, children, parseXml, rootNames, text, type XmlNode } from './xml.js';
import { parseChoices, scopeIn, type NsScope } from './metadata.js';
import type { Domain, Nic, RunState } from '../model/domain.js';

// Documents an administrator might hand us by mistake, named so the refusal says what they are.
const NOT_A_DOMAIN: Record<string, string> = {
  network: 'a libvirt network definition',
  networkstatus: 'a libvirt network status file',
  networkport: 'a libvirt network port',
  hookData: 'network hook input',
  interface: 'a device fragment, not a whole domain',
  'qemu-migration': 'a migration cookie',
};

// Parse the domain XML libvirt hands hooks, `virsh dumpxml` output, or the daemon's <domstatus> file.
export function parseDomain(xml: string, what: string): Domain {
  const doc = parseXml(xml, what);
  const roots = rootNames(doc);
  const root = roots[0];
  if (root === undefined || roots.length > 1) {
    throw new InputError(`${what}: expected one root element, found ${roots.length}`);
  }
  if (root === 'domstatus') {
    const inner = child(child(doc, 'domstatus'), 'domain');
    if (!inner) throw new InputError(`${what}: <domstatus> without a <domain> inside`);
    const status = child(doc, 'domstatus') ?? {};
    return domainFrom(inner, 'status', what, { state: attr(status, 'state') ?? 'running', reason: attr(status, 'reason') }, scopeIn(status, new Map()));
  }
  if (root === 'domain') {
    const node = child(doc, 'domain') ?? {};
    return domainFrom(node, attr(node, 'id') === null ? 'inactive' : 'live', what, null, new Map());
  }
  const known = NOT_A_DOMAIN[root];
  throw new InputError(`${what}: not a libvirt domain: root element is <${printable(root)}>${known ? ` (${known})` : ''}`);
}

function domainFrom(node: XmlNode, shape: Domain['shape'], what: string, run: RunState | null, outer: NsScope): Domain {
  const name = text(node, 'name')?.trim();
  if (!name) throw new InputError(`${what}: the domain has no <name>`);
  const nics = children(node, 'devices').flatMap((devices) => children(devices, 'interface'));
  return { name, shape, run, nics: nics.map(nicFrom), choices: parseChoices(node, scopeIn(node, outer)) };
}

function nicFrom(node: XmlNode, index: number): Nic {
  const source = child(node, 'source');
  const actual = child(node, 'actual');
  const target = child(node, 'target');
  return {
    index,
    type: attr(node, 'type'),
    mac: attr(child(node, 'mac'), 'address'),
    source: {
      bridge: attr(source, 'bridge'),
      network: attr(source, 'network'),
      portid: attr(source, 'portid'),
    },
    actual: actual ? { type: attr(actual, 'type'), bridge: attr(child(actual, 'source'), 'bridge') } : null,
    tap: attr(target, 'dev'),
    tapManaged: attr(target, 'managed') !== 'no',
    virtualport: attr(child(node, 'virtualport'), 'type') ?? attr(child(actual, 'virtualport'), 'type'),
  };
}

const DOMSTATUS_HEAD = /^\s*(?:<\?xml[^>]*>\s*)?(?:<!--[\s\S]*?-->\s*)*<domstatus\b([^>]*)>/u;

// The run state from the head of a status file, without parsing the whole document (the hook reads it on every call).
export function parseRunState(xml: string): RunState | null {
  const head = DOMSTATUS_HEAD.exec(xml)?.[1];
  if (head === undefined) return null;
  const value = (name: string) => new RegExp(`\\s${name}\\s*=\\s*(?:'([^']*)'|"([^"]*)")`, 'u').exec(head)?.slice(1).find((v) => v !== undefined) ?? null;
  return { state: value('state') ?? 'running', reason: value('reason') };
}
