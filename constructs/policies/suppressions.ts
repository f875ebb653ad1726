/**
 * Waiving a policy rule for one construct (and what it contains), with the reason written down where the
 * exception applies, like cdk-nag's NagSuppressions: never an edit of the rule list. Suppressed findings
 * are not errors, but they are reported at synth with their reason.
 */
import type { IConstruct } from "constructs";

export interface Suppression {
  readonly rule: string;
  readonly reason: string;
}

const suppressions = new WeakMap<IConstruct, Suppression[]>();

/** Waives `rule` for `scope` and everything under it. The reason is required and shown in the report. */
export function suppressPolicy(scope: IConstruct, rule: string, reason: string): void {
  if (reason.trim().length < 10)
    throw new Error(`${scope.node.path}: suppressing policy rule "${rule}" needs a reason of at least 10 characters saying why the rule does not apply here`);
  suppressions.set(scope, [...(suppressions.get(scope) ?? []), { rule, reason: reason.trim() }]);
}

/** Every suppression declared on `root` or below it, by construct path. */
export function suppressionsUnder(root: IConstruct): { path: string; suppression: Suppression }[] {
  return root.node.findAll().flatMap((c) => (suppressions.get(c) ?? []).map((suppression) => ({ path: c.node.path, suppression })));
}
