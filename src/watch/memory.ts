import type { PortOutcome } from '../actions/apply.js';
import type { Config } from '../config/config.js';
import type { HostFs } from '../runtime/fs.js';
import { renderMetrics, type WatchCounters } from '../report/metrics.js';
import { vcpusRun } from '../plan/desired.js';
import { everyonePlanned, planHost } from '../plan/plan-host.js';
import { gatherHost } from '../host/gather.js';
import { ParseCache } from '../host/guests.js';
import { macsOf } from '../model/port.js';
import type { ManagedPort } from '../plan/plan.js';
import { reconcile } from '../actions/reconcile.js';
import { managedBridges } from '../actions/uplinks.js';
import { ensureLeftEntriesGone } from '../actions/left-guests.js';
import { happened, outcomeLine } from '../report/report.js';
import type { BridgeRunner, LogLine } from '../runtime/runtime.js';
import type { PortStatus } from '../plan/diff.js';
import type { Outcome } from '../model/outcome.js';

// How long the watcher remembers a guest that left this host (a migration's source): its entries are moved by the
// destination's announces, a few rounds within a second of the switch-over.
const LEFT_MS = 60_000;

// What one reconcile reports to its caller: lines to log, and whether a port could not be fixed.
export interface Round {
  lines: LogLine[];
  changed: { guest: string; outcome: PortOutcome }[];
  failed: boolean;
  // As the plans of this round saw them; `wrote`: a port of the guest failed after something was written to it (its
  // own writes come back as kernel events: the watcher waits before it tries again), not at a check before any.
  reconciled: { guest: string; running: boolean; failed: boolean; wrote: boolean }[];
}

// The watcher's memory between reconciles: each guest's last statuses (for metrics and for mapping kernel events
// to guests), the problems already logged (a port that cannot be fixed is logged when its problem changes, not at
// every event), and the counters. Each reconcile still reads the whole desired and actual state of its guests.
export class WatchMemory {
  private readonly parsed = new ParseCache();
  private readonly statuses = new Map<string, PortStatus[]>();
  private readonly logged = new Map<string, string>(); // guest/tap or guest → the problem last logged
  private readonly counters: WatchCounters = { reconciles: 0, repairs: 0, failures: 0, lastReconcile: null, lastResyncSeconds: null };
  private readonly left = new Map<string, { ports: ManagedPort[]; until: number }>(); // guests whose status file went, for LEFT_MS

  // The guest whose managed port a tap is, as of the last reconcile (lines about other taps are not ours).
  guestOfTap(tap: string): string | undefined {
    for (const [guest, statuses] of this.statuses) if (statuses.some(({ port }) => port.manage && port.tap === tap)) return guest;
    return undefined;
  }

  // Whether a managed port is on this bridge, as of the last reconcile.
  managesBridge(bridge: string): boolean {
    return [...this.statuses.values()].some((statuses) => statuses.some(({ port }) => port.manage && port.bridge === bridge));
  }

  // The guest one of whose managed ports has this MAC on this bridge (a kernel line about its entry on another
  // port: moved there by learning); null when it is a guest that left; undefined when it is no guest's.
  guestOfEntry(mac: string, bridge: string): string | null | undefined {
    const has = (port: ManagedPort) => port.bridge === bridge && macsOf(port).includes(mac);
    for (const [guest, statuses] of this.statuses) if (statuses.some(({ port }) => port.manage && has(port as ManagedPort))) return guest;
    for (const { ports } of this.left.values()) if (ports.some(has)) return null;
    return undefined;
  }

  // Observe, compare and fix the named guests (null: every running guest). Every running guest is planned (from
  // cached parses: cheap) so that an extra MAC two guests claim is refused the same way whichever one is dirty.
  // `left`: look for entries the guests that left recently still have on their bridges (always on a full round and
  // in the round that sees a guest go).
  async round(host: HostFs, bridge: BridgeRunner, config: Config, guests: string[] | null, now: () => number, { left = false } = {}): Promise<Round> {
    const started = now();
    const planned = planHost(gatherHost(host, this.parsed), config);
    const { plans: all, unreadable } = planned;
    const running = new Set([...all.map((plan) => plan.domain), ...unreadable.keys()]);
    const gone = [...this.statuses.keys()].filter((name) => !running.has(name));
    for (const name of gone) this.leave(name, now());
    for (const name of [...this.left.keys()]) if (running.has(name) || (this.left.get(name)?.until ?? 0) < now()) this.left.delete(name);
    const lines: LogLine[] = [];
    for (const [name, problem] of unreadable) if (guests === null || guests.includes(name)) this.note(lines, name, `${name}: ${problem}`);
    const everyone = everyonePlanned(planned);
    const plans = guests === null ? all : all.filter((plan) => guests.includes(plan.domain));
    const { statuses, fixed } = await reconcile(host, bridge, plans, config, everyone);
    for (const plan of plans) {
      this.statuses.set(plan.domain, statuses.filter((status) => status.guest === plan.domain));
      this.logged.delete(plan.domain);
      // Bad metadata and refused extra MACs: said once, again only when they change.
      if (plan.problems.length > 0) this.note(lines, `${plan.domain}#problems`, plan.problems.join('; '), plan.problems.join('; '), 'warning');
      else this.logged.delete(`${plan.domain}#problems`);
    }
    for (const { guest, outcome } of fixed) this.record(lines, guest, outcome);
    if (left || guests === null || gone.length > 0) {
      for (const [guest, { ports }] of this.left) {
        for (const outcome of await ensureLeftEntriesGone(host, bridge, ports, () => everyone)) this.record(lines, guest, { ...outcome, note: 'the guest left this host' });
      }
    }
    const failed = new Set(fixed.filter(({ outcome }) => outcome.failure !== null).map(({ guest }) => guest));
    const wrote = new Set(fixed.filter(({ outcome }) => outcome.failure !== null && (outcome.changes.length > 0 || outcome.note !== null)).map(({ guest }) => guest));
    this.counters.reconciles += 1;
    this.counters.lastReconcile = { at: now(), seconds: (now() - started) / 1000 };
    if (guests === null) this.counters.lastResyncSeconds = this.counters.lastReconcile.seconds;
    const reconciled = plans.map((plan) => ({ guest: plan.domain, running: vcpusRun(plan.run), failed: failed.has(plan.domain), wrote: wrote.has(plan.domain) }));
    return { lines, changed: fixed, failed: failed.size > 0, reconciled };
  }

  // The bridges' mode read now: a port added or changed on a managed bridge counts at the next write.
  metrics(host: HostFs): string {
    const statuses = [...this.statuses.values()].flat();
    return renderMetrics(statuses, managedBridges(host, statuses), this.counters);
  }

  // A port's outcome in the log: what was done or what failed; a drift that was gone by the time it was fixed
  // (the kernel moved the entry meanwhile) did nothing and says nothing.
  private record(lines: LogLine[], guest: string, outcome: Outcome): void {
    const key = `${guest}/${outcome.port.tap ?? outcome.port.mac}`;
    const status = this.statuses.get(guest)?.find(({ port }) => port.tap === outcome.port.tap);
    if (outcome.failure === null) {
      this.counters.repairs += 1;
      this.logged.delete(key);
      if (status) Object.assign(status, { verdict: 'ok', drift: [] });
      if (happened(outcome)) lines.push({ level: 'info', text: `${outcomeLine(guest, outcome, '')} (watch)` });
      return;
    }
    this.counters.failures += 1;
    if (status) Object.assign(status, { verdict: 'drift', drift: [outcome.failure] });
    this.note(lines, key, `${outcomeLine(guest, outcome, '')} (watch)`, outcome.failure);
  }

  // Log a problem only when it differs from the one last logged under `key`.
  private note(lines: LogLine[], key: string, text: string, problem = text, level: LogLine['level'] = 'err'): void {
    if (this.logged.get(key) === problem) return;
    this.logged.set(key, problem);
    lines.push({ level, text });
  }

  // A guest whose status file went: its managed ports are remembered for LEFT_MS, to delete the entries for its
  // MACs that learning moves to another port of their bridge (a migration's announce) before or after its tap goes.
  private leave(guest: string, now: number): void {
    const ports = (this.statuses.get(guest) ?? []).flatMap(({ port }) => (port.manage ? [port as ManagedPort] : []));
    if (ports.length > 0) this.left.set(guest, { ports, until: now + LEFT_MS });
    this.forget(guest);
  }

  private forget(guest: string): void {
    this.statuses.delete(guest);
    for (const key of [...this.logged.keys()]) if (key === guest || key.startsWith(`${guest}/`) || key === `${guest}#problems`) this.logged.delete(key);
  }
}
