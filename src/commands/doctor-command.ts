import { CHECKS, type Check } from '../doctor/checks.js';
import type { Runtime } from '../runtime/runtime.js';
import { DEFAULT_TIMEOUT } from '../config/config.js';
import { settingsFrom } from '../config/settings.js';
import { withTimeBound } from '../runtime/time-bound.js';
import { paintRows } from '../report/paint.js';
import { renderTable } from '../report/table.js';

interface DoctorArgs {
  root?: string | undefined;
  config?: string | undefined;
  json: boolean;
}

// `mactable doctor`: every check ok, warn or fail, with a one-line fix; exit 1 when one fails.
export async function doctorCommand(rt: Runtime, args: DoctorArgs): Promise<number> {
  const settings = settingsFrom(rt, args);
  const config = settings.config();
  const bridge = withTimeBound(rt, 'config' in config ? config.config.timeout : DEFAULT_TIMEOUT).bridge;
  const context = { rt, host: settings.host, config, bridge };
  const checks: Check[] = [];
  for (const check of CHECKS) checks.push(...[await check(context)].flat()); // some checks give a row per bridge
  const failed = checks.some((check) => check.status === 'fail');
  if (args.json) rt.stdout(`${JSON.stringify({ ok: !failed, checks })}\n`);
  else rt.stdout(`${doctorText(checks, await rt.stdoutIsTTY())}\n`);
  return failed ? 1 : 0;
}

const COLOURS = { ok: 'green', warn: 'yellow', fail: 'red' } as const;

function doctorText(checks: Check[], colour: boolean): string {
  const table = renderTable(['CHECK', 'STATUS', 'DETAIL'], checks.map((check) => [check.check, check.status, check.detail]));
  const painted = paintRows(table, checks.map((check) => COLOURS[check.status]), colour);
  const fixes = checks.filter((check) => check.fix !== null).map((check) => `  ${check.check}: ${check.fix}`);
  return fixes.length > 0 ? `${painted}\n\nto fix:\n${fixes.join('\n')}` : painted;
}
