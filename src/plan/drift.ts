import type { EntryOptions } from '../host/fdb.js';
import type { PortState } from '../host/observe.js';
import type { ManagedPort } from './plan.js';

// How a managed port's kernel state differs from what mactable applies, in words; empty when it does not.
export function driftOf(port: ManagedPort, state: PortState, options: EntryOptions): string[] {
  if (!state.tapExists) return [`tap ${port.tap} does not exist`];
  if (state.master !== port.bridge) {
    return [state.master === null ? `tap ${port.tap} is not attached to any bridge` : `tap ${port.tap} is a port of ${state.master}, not of ${port.bridge}`];
  }
  const drift: string[] = [];
  if (state.learning !== false) drift.push(state.learning === null ? 'learning unknown' : 'learning on');
  if (state.flood !== false) drift.push(state.flood === null ? 'unicast flooding unknown' : 'unicast flooding on');
  if (state.entry === null) drift.push(`no entry for ${port.mac}`);
  else if (state.entry.state !== 'static') drift.push(`entry for ${port.mac} is ${state.entry.state}, not static`);
  else if (options.sticky && !state.entry.flags.includes('sticky')) drift.push(`entry for ${port.mac} is not sticky`);
  if (options.lock && state.locked !== true) drift.push(state.locked === null ? 'lock unknown' : 'port not locked');
  return drift;
}
