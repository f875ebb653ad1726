/**
 * The chaos scenarios the plan names, and how a runner finds their cloud experiment templates.
 * One home for both: the chaos stack tags each AWS FIS experiment template with SCENARIO_TAG_KEY = the
 * scenario id and exports its id as the Terraform output `fis-template-<scenario>`; `drp chaos run --cloud`
 * reads the same constants. Every scenario has a template (comment-spike's is a guarded window: FIS has no
 * load action, the runner sends the load while it runs); the experiments log to experimentLogGroupName.
 */
export const SCENARIOS = ["webhook-disconnect", "ai-latency", "payment-down", "comment-spike"] as const;

export type Scenario = (typeof SCENARIOS)[number];

/** Tag key on every FIS experiment template; its value is the scenario id. */
export const SCENARIO_TAG_KEY = "drp:scenario";

/** Terraform output of the chaos stack holding the scenario's FIS experiment template id. */
export function templateOutputName(scenario: Scenario): string {
  return `fis-template-${scenario}`;
}

/** CloudWatch log group (in the primary region) where FIS writes every experiment's log. */
export function experimentLogGroupName(project: string): string {
  return `/fis/${project}-chaos`;
}

export function isScenario(value: string): value is Scenario {
  return (SCENARIOS as readonly string[]).includes(value);
}
