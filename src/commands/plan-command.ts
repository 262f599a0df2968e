import { configOrThrow } from '../config/config.js';
import { parseDomain } from '../domain/parse.js';
import { gatherFacts } from '../host/gather.js';
import { planDomain, type Plan } from '../plan/plan.js';
import { readDomainXml } from './domain-input.js';
import { warnings } from '../report/report.js';
import type { Runtime } from '../runtime/runtime.js';
import { settingsFrom } from '../config/settings.js';
import { renderTable, withoutEmpty } from '../report/table.js';

interface PlanArgs {
  file?: string | undefined;
  root?: string | undefined;
  config?: string | undefined;
  json: boolean;
}

// `mactable plan`: what the hook would do with this domain XML, one entry per <interface>.
export async function planCommand(rt: Runtime, args: PlanArgs): Promise<number> {
  const settings = settingsFrom(rt, args);
  const { xml, what } = await readDomainXml(rt, args.file);
  const domain = parseDomain(xml, what);
  const plan = planDomain(domain, gatherFacts(domain, settings.host), configOrThrow(settings.config()));
  rt.stderr(warnings(plan.problems));
  rt.stdout(args.json ? `${JSON.stringify(planJson(plan))}\n` : `${planText(plan)}\n`);
  return 0;
}

// The documented JSON shape: {"domain", "problems", "ports": [{"mac","extraMacs","tap","bridge","network","type","manage","reason"}]}.
function planJson(plan: Plan) {
  return {
    domain: plan.domain,
    problems: plan.problems,
    ports: plan.ports.map(({ mac, extraMacs, tap, bridge, network, type, manage, reason }) => ({ mac, extraMacs, tap, bridge, network, type, manage, reason })),
  };
}

function planText(plan: Plan): string {
  const managed = plan.ports.filter((port) => port.manage).length;
  const summary = `${plan.domain}: ${plan.ports.length} interface${plan.ports.length === 1 ? '' : 's'}, ${managed} managed`;
  if (plan.ports.length === 0) return summary;
  const rows = plan.ports.map((p) => [p.tap, p.mac, p.extraMacs.join(',') || null, p.bridge, p.network, p.type, p.manage ? 'yes' : 'no', p.reason]);
  return `${summary}\n${renderTable(...withoutEmpty('EXTRA MACS', ['TAP', 'MAC', 'EXTRA MACS', 'BRIDGE', 'NETWORK', 'TYPE', 'MANAGE', 'REASON'], rows))}`;
}
