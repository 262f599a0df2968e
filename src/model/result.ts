// The two ways mactable says "it failed". Thrown: the few error classes of runtime/errors.ts, for what stops a command; program.ts
// (and the hook, by its operation's policy) catches them once and maps them to exit codes. Returned: every other
// result that can fail carries `failure: string | null` (null: it worked; else why not, in one line naming what it
// is about), with its data beside it: a `Result`, or a record that keeps what was done before the failure
// (Outcome, CommandResult). No other shape: no `| string`, no `ok`/`error`. (A `problem` is a finding about input
// that still lets the work go on: a plan's problems, a NIC mactable cannot manage, an unusable file among facts.)
export type Result<T extends object> = ({ failure: null } & T) | { failure: string };
