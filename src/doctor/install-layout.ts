import pkg from '../../package.json' with { type: 'json' };

// The install layout, in one place: where install.sh and the package put the hook, the line that marks it as ours,
// and the oldest Node.js (test/unit/install-layout.test.ts holds these against install.sh, hooks/qemu and the
// package's maintainer scripts, which are shell).
export const HOOKS = '/etc/libvirt/hooks';
export const HOOK_PATHS = [`${HOOKS}/qemu.d/mactable`, `${HOOKS}/qemu`];
export const MARKER = '# installed by mactable install.sh';
// package.json's engines (">=18.19"), which install.sh and the package read too.
export const MIN_NODE = pkg.engines.node.replace(/^>=/u, '');
