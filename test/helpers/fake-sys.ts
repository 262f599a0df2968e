import { existsSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';

// A /sys/class/net tree under a root directory, standing in for the kernel's bridges and ports in tests without root.
export class FakeSys {
  constructor(readonly root: string) {}

  private net(...parts: string[]): string {
    return [`${this.root}/sys/class/net`, ...parts].join('/');
  }

  bridge(name: string): void {
    mkdirSync(this.net(name, 'bridge'), { recursive: true });
    mkdirSync(this.net(name, 'brif'), { recursive: true });
  }

  // A tap on `bridge`, learning and unicast flooding on, as libvirt leaves it.
  port(bridge: string, tap: string): void {
    mkdirSync(this.net(tap), { recursive: true });
    symlinkSync(`../${bridge}`, this.net(tap, 'master'));
    mkdirSync(this.net(bridge, 'brif', tap), { recursive: true });
    for (const flag of ['learning', 'unicast_flood']) writeFileSync(this.net(bridge, 'brif', tap, flag), '1\n');
  }

  removeTap(bridge: string, tap: string): void {
    rmSync(this.net(tap), { recursive: true, force: true });
    rmSync(this.net(bridge, 'brif', tap), { recursive: true, force: true });
  }

  // The port's flags as 'on'/'off', or null when it is not a port of `bridge`.
  flags(bridge: string, tap: string): { learning: string; flood: string } | null {
    if (!existsSync(this.net(bridge, 'brif', tap))) return null;
    const read = (flag: string) => (readFileSync(this.net(bridge, 'brif', tap, flag), 'utf8').trim() === '1' ? 'on' : 'off');
    return { learning: read('learning'), flood: read('unicast_flood') };
  }
}
