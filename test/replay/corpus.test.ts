import { readFileSync, readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { runDist } from '../helpers/dist.js';
import { FIXTURES } from '../helpers/runtime.js';

// libvirt's own test-suite XML (see test/fixtures/corpus/SOURCE.md): each file gives a plan or a one-line refusal.
const CORPUS = `${FIXTURES}corpus/`;
const files = readdirSync(CORPUS, { recursive: true, encoding: 'utf8' }).filter((file) => file.endsWith('.xml')).sort();

// Files whose root is not <domain> or <domstatus>, refused with what they are.
const REFUSED: Record<string, string> = {
  'networkxml2xmlin/': 'root element is <network> (a libvirt network definition)',
  'networkxml2xmlout/': 'root element is <network> (a libvirt network definition)',
  'virnetworkportxml2xmldata/': 'root element is <networkport> (a libvirt network port)',
  'qemuhotplugtestdevices/': 'root element is <interface> (a device fragment, not a whole domain)',
  'qemumigrationcookiexmldata/': 'root element is <qemu-migration> (a migration cookie)',
};

describe('the libvirt test-suite corpus goes through `mactable plan` without a crash', () => {
  it('holds all 71 files', () => {
    expect(files).toHaveLength(71);
  });

  it.each(files)('%s', async (file) => {
    const result = await runDist(['plan', '--json', '--root', CORPUS, `${CORPUS}${file}`]);
    const refusal = Object.entries(REFUSED).find(([dir]) => file.startsWith(dir))?.[1];
    if (refusal) {
      expect(result.code).toBe(2);
      expect(result.stdout).toBe('');
      expect(result.stderr).toBe(`mactable: ${CORPUS}${file}: not a libvirt domain: ${refusal}\n`);
      return;
    }
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const plan = JSON.parse(result.stdout);
    // Guest NICs carry a type; <interface> elements without one (hostdev sources, forward pools) are not NICs.
    const nics = readFileSync(`${CORPUS}${file}`, 'utf8').match(/<interface\s+type=/gu) ?? [];
    expect(plan.ports).toHaveLength(nics.length);
    for (const port of plan.ports) {
      expect(port.reason).toMatch(/^[^\n]+$/u);
      if (port.manage) throw new Error(`${file}: nothing is managed without a config, yet ${port.tap} is`);
    }
  });
});
