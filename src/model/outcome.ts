// What happened to one port (ensure*, an undo, the entries a guest left): the changes made in words, the step that
// failed, if one did, and a note (why nothing was done, or what was put back after a failure).
export interface Outcome {
  port: { mac: string; tap: string | null; bridge: string }; // tap null: a guest that left, whose XML names none
  changes: string[];
  failure: string | null;
  note: string | null;
}
