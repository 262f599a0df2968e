// Validation of every name taken from XML or config before it reaches a path or a command.
// Each check returns null when the value is acceptable, else the problem in plain words.

const IFNAMSIZ = 16;

// The kernel's dev_valid_name(): 1..15 bytes, not "." or "..", no '/', ':', whitespace or NUL;
// and nothing `bridge -batch` would read as a comment or a quote.
export function ifnameProblem(name: string): string | null {
  if (name.length === 0) return 'is empty';
  if (Buffer.byteLength(name) >= IFNAMSIZ) return `is longer than ${IFNAMSIZ - 1} bytes`;
  if (name === '.' || name === '..') return `is '${name}'`;
  if (/[/:\s\0]/u.test(name)) return "contains '/', ':', whitespace or NUL";
  if (/[#'"]/u.test(name)) return "contains '#' or a quote, which bridge -batch cannot pass";
  return null;
}

// libvirt network names become file names under /run/libvirt/network and /etc/libvirt/qemu/networks.
export function networkNameProblem(name: string): string | null {
  if (name.length === 0) return 'is empty';
  if (name === '.' || name === '..') return `is '${name}'`;
  if (/[/\0\n]/u.test(name)) return "contains '/', a newline or NUL";
  return null;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/iu;

// Port ids are UUIDs that libvirt generates; anything else could name another file.
export function portIdProblem(id: string): string | null {
  return UUID.test(id) ? null : 'is not a UUID';
}

const MAC = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/iu;

// A guest MAC must be a unicast, non-zero 6-octet address to be a static FDB entry.
export function macProblem(mac: string): string | null {
  if (!MAC.test(mac)) return 'is not a 6-octet MAC address';
  if (parseInt(mac.slice(0, 2), 16) & 1) return 'is a multicast address';
  if (/^(00:){5}00$/u.test(mac)) return 'is all zeros';
  return null;
}

// Show a value from untrusted input quoted on one line: control characters escaped, long ones cut.
export function quote(value: string): string {
  return `'${printable(value.length > 64 ? `${value.slice(0, 64)}…` : value)}'`;
}

// A name from input made safe for one line of stderr or syslog: control characters escaped.
export function printable(value: string): string {
  return value.replace(/[\u0000-\u001f\u007f]/gu, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}
