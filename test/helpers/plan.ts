import { expect } from 'vitest';

type Run = (argv: string[], options: { stdin?: string }) => Promise<{ code: number; stdout: string; stderr: string }>;

export interface PlanJson {
  domain: string;
  problems: string[];
  ports: { mac: string; extraMacs: string[]; tap: string | null; bridge: string | null; network: string | null; type: string; manage: boolean; reason: string }[];
}

// `mactable plan --json` of a domain XML (a file, or `-` and `stdin`) under `root`, through the built program (runDist)
// or in-process (runFake): it exits 0, says each problem on stderr as a warning and nothing else, and prints the plan.
export async function planOf(run: Run, xml: string, root: string, config?: string, stdin?: string): Promise<PlanJson> {
  const result = await run(['plan', '--json', '--root', root, ...(config ? ['--config', config] : []), xml], { stdin });
  expect(result.code).toBe(0);
  const plan = JSON.parse(result.stdout) as PlanJson;
  expect(result.stderr).toBe(plan.problems.map((problem) => `mactable: warning: ${problem}\n`).join(''));
  return plan;
}
