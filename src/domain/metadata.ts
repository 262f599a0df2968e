import type { Result } from '../model/result.js';
import { macProblem, quote } from './names.js';
import { children, type XmlNode } from './xml.js';
import type { GuestChoices, NicChoice } from '../model/domain.js';

// The namespace of mactable's element under the domain's <metadata>; the prefix is whatever the writer chose.
const MACTABLE_NS = 'urn:mactable:1';

// Namespace prefixes in scope ('' for the default namespace) → URI.
export type NsScope = ReadonlyMap<string, string>;

interface Element {
  name: string; // as written, prefix included
  node: XmlNode;
  scope: NsScope; // inside the element, its own declarations included
}

// The scope inside `node`: the outer one plus the node's own xmlns and xmlns:PREFIX declarations.
export function scopeIn(node: XmlNode, outer: NsScope): NsScope {
  const declared = Object.keys(node).filter((key) => key === '@xmlns' || key.startsWith('@xmlns:'));
  if (declared.length === 0) return outer;
  const scope = new Map(outer);
  for (const key of declared) scope.set(key.slice('@xmlns:'.length), String(node[key]));
  return scope;
}

// Child elements in any namespace; an element with neither attributes nor children comes as a string from the parser.
function elementsOf(parent: Element): Element[] {
  return Object.entries(parent.node)
    .filter(([key]) => !key.startsWith('@') && !key.startsWith('#'))
    .flatMap(([name, value]) =>
      (Array.isArray(value) ? value : []).map((item) => {
        const node = typeof item === 'object' ? item : {};
        return { name, node, scope: scopeIn(node, parent.scope) };
      }),
    );
}

// Whether the element is mactable's `local` element, by namespace URI, not by prefix.
function isOurs({ name, scope }: Element, local: string): boolean {
  const colon = name.indexOf(':');
  const [prefix, rest] = colon < 0 ? ['', name] : [name.slice(0, colon), name.slice(colon + 1)];
  return rest === local && scope.get(prefix) === MACTABLE_NS;
}

// Plain attributes (namespace declarations are not); any not in `known` is a problem.
function attributes({ node }: Element, known: string[], problems: string[]): Map<string, string> {
  const values = new Map<string, string>();
  for (const [key, value] of Object.entries(node)) {
    if (!key.startsWith('@') || key === '@xmlns' || key.startsWith('@xmlns:')) continue;
    const name = key.slice(1);
    if (known.includes(name)) values.set(name, String(value));
    else problems.push(`unknown attribute ${quote(name)} (known: ${known.join(', ')})`);
  }
  return values;
}

function manageOf(value: string | undefined, problems: string[]): boolean | null {
  if (value === undefined) return null;
  if (value === 'yes' || value === 'no') return value === 'yes';
  problems.push(`manage must be 'yes' or 'no', not ${quote(value)}`);
  return null;
}

// The guest's choices from its <metadata>. Every element is judged alone: one with a problem is ignored, with a
// message, and the rest stands; the NICs it named fall back to the guest's choice and the config.
export function parseChoices(domain: XmlNode, outer: NsScope): GuestChoices {
  const choices: GuestChoices = { manage: null, nics: new Map(), problems: [] };
  const say = (problem: string) => choices.problems.push(`metadata ${MACTABLE_NS}: ${problem}`);
  const ours = children(domain, 'metadata')
    .flatMap((node) => elementsOf({ name: 'metadata', node, scope: scopeIn(node, outer) }))
    .filter((element) => isOurs(element, 'mactable'));
  if (ours.length > 1) say(`${ours.length} <mactable> elements, expected one; all are ignored`);
  const top = ours[0];
  if (top === undefined || ours.length > 1) return choices;

  const problems: string[] = [];
  const manage = manageOf(attributes(top, ['manage'], problems).get('manage'), problems);
  if (problems.length > 0) say(`<mactable>: ${problems.join('; ')}; its manage is ignored`);
  else choices.manage = manage;

  const seen = new Map<string, number>();
  for (const element of elementsOf(top)) {
    if (!isOurs(element, 'interface')) {
      say(`unknown element <${element.name}> in <mactable>; it is ignored`);
      continue;
    }
    const nic = interfaceOf(element);
    if (nic.failure !== null) say(nic.failure);
    else {
      seen.set(nic.mac, (seen.get(nic.mac) ?? 0) + 1);
      choices.nics.set(nic.mac, nic.choice);
    }
  }
  for (const [mac, count] of seen) {
    if (count === 1) continue;
    say(`<interface mac='${mac}'> appears ${count} times; all are ignored`);
    choices.nics.delete(mac);
  }
  return choices;
}

// One <interface mac= manage=> with its <mac address=> children, or the message that says why it is ignored.
function interfaceOf(element: Element): Result<{ mac: string; choice: NicChoice }> {
  const problems: string[] = [];
  const attrs = attributes(element, ['mac', 'manage'], problems);
  const rawMac = attrs.get('mac');
  const mac = rawMac?.toLowerCase() ?? null;
  if (rawMac === undefined) problems.push('no mac attribute');
  else if (macProblem(rawMac)) problems.push(`mac ${quote(rawMac)} ${macProblem(rawMac)}`);
  const manage = manageOf(attrs.get('manage'), problems);
  const extraMacs: string[] = [];
  for (const child of elementsOf(element)) {
    if (!isOurs(child, 'mac')) {
      problems.push(`unknown element <${child.name}>`);
      continue;
    }
    const address = attributes(child, ['address'], problems).get('address');
    if (address === undefined) problems.push('<mac> without an address');
    else extraOf(address, mac, extraMacs, problems);
  }
  const subject = rawMac === undefined ? '<interface>' : `<interface mac=${quote(rawMac)}>`;
  if (problems.length > 0 || mac === null) return { failure: `${subject}: ${problems.join('; ')}; this <interface> is ignored` };
  return { failure: null, mac, choice: { manage, extraMacs } };
}

// Add a valid extra MAC, lower case, to `extraMacs`; else say what is wrong with it.
function extraOf(address: string, own: string | null, extraMacs: string[], problems: string[]): void {
  const extra = address.toLowerCase();
  const bad = macProblem(address);
  if (bad) problems.push(`extra MAC ${quote(address)} ${bad}`);
  else if (extra === own) problems.push(`extra MAC ${extra} is the NIC's own MAC`);
  else if (extraMacs.includes(extra)) problems.push(`extra MAC ${extra} is listed twice`);
  else extraMacs.push(extra);
}
