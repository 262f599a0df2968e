// Logs every change of libvirt's status files in DIR (a box's /run/libvirt/qemu): on each rename or removal of a
// NAME.xml, the time (ms since the epoch, the clock the frame counter's kernel timestamps use) and what the file
// then says: <domstatus state= reason=> and its <job .../> element, or that it is gone. With KEEP_DIR, every
// distinct content is also saved there (a fixture). Writes the log as JSON to OUT at SIGTERM.
//   node status-log.mjs DIR OUT [KEEP_DIR]
import { mkdirSync, readFileSync, watch, writeFileSync } from 'node:fs';

const [dir, out, keep] = process.argv.slice(2);
const log = [];
const seen = new Set();
if (keep) mkdirSync(keep, { recursive: true });
watch(dir, (_event, file) => {
  if (!file?.endsWith('.xml')) return;
  const at = Date.now();
  let xml = null;
  try {
    xml = readFileSync(`${dir}/${file}`, 'utf8');
  } catch {
    // removed (the guest stopped) or renamed over again meanwhile
  }
  const head = xml === null ? null : /<domstatus([^>]*)>/u.exec(xml)?.[1]?.trim() ?? null;
  const job = xml === null ? null : /<job\b[^>]*>/u.exec(xml)?.[0] ?? null;
  const last = log.findLast((entry) => entry.file === file);
  if (last && last.head === head && last.job === job) return;
  log.push({ at, file, head, job });
  if (keep && xml !== null && !seen.has(xml)) {
    seen.add(xml);
    writeFileSync(`${keep}/${log.length}-${file}`, xml);
  }
});
process.stderr.write('ready\n');
process.on('SIGTERM', () => {
  writeFileSync(out, JSON.stringify(log));
  process.exit(0);
});
