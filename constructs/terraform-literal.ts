/**
 * Terraform reads every string in cdk.tf.json as a template: `${` starts an interpolation and `%{` a
 * directive. A value that must arrive verbatim (the Worker bundle, with JavaScript template literals and
 * CSS keyframes such as `50%{`) is escaped here, `$${` and `%%{`, and Terraform hands the provider the
 * original text. `Fn.rawString` escapes `${` only.
 */
export function terraformLiteral(text: string): string {
  return text.replace(/\$\{/g, () => "$${").replace(/%\{/g, () => "%%{");
}

/** What Terraform makes of a string escaped by terraformLiteral (the inverse, for tests and reports). */
export function fromTerraformLiteral(template: string): string {
  return template.replace(/\$\$\{/g, () => "${").replace(/%%\{/g, () => "%{");
}
