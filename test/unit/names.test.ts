import { describe, expect, it } from 'vitest';
import { ifnameProblem, macProblem, networkNameProblem, portIdProblem, printable, quote } from '../../src/domain/names.js';

describe('interface names follow the kernel (dev_valid_name)', () => {
  it.each([
    ['vnet0', null],
    ['a', null],
    ['-leading-dash', null],
    ['fifteen-bytes-x', null],
    ['', 'is empty'],
    ['sixteen-bytes-xx', 'is longer than 15 bytes'],
    ['ééééééééé', 'is longer than 15 bytes'],
    ['.', "is '.'"],
    ['..', "is '..'"],
    ['a/b', "contains '/', ':', whitespace or NUL"],
    ['a:b', "contains '/', ':', whitespace or NUL"],
    ['a b', "contains '/', ':', whitespace or NUL"],
    ['a\nb', "contains '/', ':', whitespace or NUL"],
    ['a\0b', "contains '/', ':', whitespace or NUL"],
    ['a#b', "contains '#' or a quote, which bridge -batch cannot pass"],
    ["a'b", "contains '#' or a quote, which bridge -batch cannot pass"],
    ['"ab', "contains '#' or a quote, which bridge -batch cannot pass"],
  ])('%j → %s', (name, problem) => {
    expect(ifnameProblem(name)).toBe(problem);
  });
});

describe('MAC addresses must be unicast 6-octet addresses', () => {
  it.each([
    ['52:54:00:aa:00:01', null],
    ['FE:11:22:33:44:55', null],
    ['01:00:5e:00:00:01', 'is a multicast address'],
    ['ff:ff:ff:ff:ff:ff', 'is a multicast address'],
    ['00:00:00:00:00:00', 'is all zeros'],
    ['52:54:00:aa:00', 'is not a 6-octet MAC address'],
    ['52-54-00-aa-00-01', 'is not a 6-octet MAC address'],
    ['52:54:00:aa:00:01 ', 'is not a 6-octet MAC address'],
    ['', 'is not a 6-octet MAC address'],
  ])('%j → %s', (mac, problem) => {
    expect(macProblem(mac)).toBe(problem);
  });
});

describe('network names and port ids cannot leave their directory', () => {
  it.each([
    ['default', null],
    ['openvswitch-net;plug-bridge-basic', null],
    ['', 'is empty'],
    ['..', "is '..'"],
    ['../etc', "contains '/', a newline or NUL"],
    ['a\nb', "contains '/', a newline or NUL"],
  ])('network %j → %s', (name, problem) => {
    expect(networkNameProblem(name)).toBe(problem);
  });

  it.each([
    ['1fd8c22a-2f7c-45bd-911d-f30a3e67b207', null],
    ['../../../etc/passwd', 'is not a UUID'],
    ['1fd8c22a2f7c45bd911df30a3e67b207', 'is not a UUID'],
  ])('port id %j → %s', (id, problem) => {
    expect(portIdProblem(id)).toBe(problem);
  });
});

describe('names from input are shown on one line', () => {
  it('escapes control characters and cuts long values', () => {
    expect(printable('a\nb\u0000')).toBe('a\\x0ab\\x00');
    expect(quote('x'.repeat(70))).toBe(`'${'x'.repeat(64)}…'`);
  });
});
