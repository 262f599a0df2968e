import type { Verdict } from '../plan/diff.js';
import type { UplinkVerdict } from '../plan/uplink.js';

// Counters and times of the watcher; `status --format prometheus` has none of them.
export interface WatchCounters {
  reconciles: number;
  repairs: number;
  failures: number;
  lastReconcile: { at: number; seconds: number } | null; // at: milliseconds since the epoch
  lastResyncSeconds: number | null; // the last full reconcile (every running guest)
}

const label = (value: string) => value.replace(/[\\"\n]/gu, (c) => (c === '\n' ? '\\n' : `\\${c}`));

// A gauge per managed bridge.
function bridgeGauge(name: string, help: string, bridges: UplinkVerdict[], value: (bridge: UplinkVerdict) => number): string[] {
  return [`# HELP ${name} ${help}`, `# TYPE ${name} gauge`, ...bridges.map((bridge) => `${name}{bridge="${label(bridge.bridge)}"} ${value(bridge)}`)];
}

// Prometheus text exposition: guest ports by bridge and verdict, each managed bridge's mode, and the watcher's
// counters when given.
export function renderMetrics<S extends { port: { bridge: string | null }; verdict: Verdict }>(statuses: S[], bridges: UplinkVerdict[], counters: WatchCounters | null): string {
  const counts = new Map<string, number>();
  for (const { port, verdict } of statuses) {
    const key = `bridge="${label(port.bridge ?? '')}",verdict="${verdict}"`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  const lines = [
    '# HELP mactable_ports Guest NICs by bridge and verdict (ok, drift, unmanaged).',
    '# TYPE mactable_ports gauge',
    ...[...counts].sort().map(([key, count]) => `mactable_ports{${key}} ${count}`),
    ...bridgeGauge('mactable_bridge_vlan_filtering', 'Whether a managed bridge filters VLANs (1), which the kernel needs to take its uplink out of promiscuous mode.', bridges, (bridge) => Number(bridge.vlanFiltering)),
    ...bridgeGauge('mactable_bridge_auto_ports', "A managed bridge's ports with learning or unicast flooding on; with more than one the uplink stays promiscuous.", bridges, (bridge) => bridge.autoPorts.length),
    ...bridgeGauge('mactable_bridge_uplink_filtered', "Whether the kernel keeps a managed bridge's uplink out of promiscuous mode (1), filtering by the static entries.", bridges, (bridge) => Number(bridge.uplinkFiltered)),
  ];
  if (counters !== null) {
    lines.push(
      '# HELP mactable_reconciles_total Reconciles the watcher ran (each a round of the work queue: dirty guests or a resync).',
      '# TYPE mactable_reconciles_total counter',
      `mactable_reconciles_total ${counters.reconciles}`,
      '# HELP mactable_repairs_total Ports the watcher changed back to their plan.',
      '# TYPE mactable_repairs_total counter',
      `mactable_repairs_total ${counters.repairs}`,
      '# HELP mactable_repair_failures_total Ports the watcher tried and failed to fix.',
      '# TYPE mactable_repair_failures_total counter',
      `mactable_repair_failures_total ${counters.failures}`,
    );
    if (counters.lastReconcile !== null) {
      lines.push(
        '# HELP mactable_last_reconcile_timestamp_seconds When the last reconcile ended.',
        '# TYPE mactable_last_reconcile_timestamp_seconds gauge',
        `mactable_last_reconcile_timestamp_seconds ${(counters.lastReconcile.at / 1000).toFixed(3)}`,
        '# HELP mactable_last_reconcile_duration_seconds How long the last reconcile took.',
        '# TYPE mactable_last_reconcile_duration_seconds gauge',
        `mactable_last_reconcile_duration_seconds ${counters.lastReconcile.seconds.toFixed(6)}`,
      );
    }
    if (counters.lastResyncSeconds !== null) {
      lines.push(
        '# HELP mactable_last_resync_duration_seconds How long the last full reconcile of every running guest took.',
        '# TYPE mactable_last_resync_duration_seconds gauge',
        `mactable_last_resync_duration_seconds ${counters.lastResyncSeconds.toFixed(6)}`,
      );
    }
  }
  return `${lines.join('\n')}\n`;
}
