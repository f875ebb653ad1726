/** `drp postmortem TIMELINE`: the incident document for the wiki from a drill or failover timeline. */
import { readFileSync, writeFileSync } from "node:fs";
import { Command, Option } from "commander";
import { DrpError } from "../lib/cli";
import { renderPostmortem } from "../plan/postmortem";
import { parseTimeline } from "../plan/runner";

export function registerPostmortem(program: Command): void {
  program
    .command("postmortem")
    .description("Write the incident document for the wiki (summary, impact, timeline with a Mermaid Gantt chart, root cause and action items to fill in) from a timeline.json")
    .argument("<timeline>", "timeline.json written by drp drill or drp failover")
    .addOption(new Option("--lang <lang>", "language").choices(["es", "en"]).default("es"))
    .option("--out <file>", "write to this file instead of standard output")
    .action((path: string, raw: { lang: "es" | "en"; out?: string }) => {
      let text: string;
      try {
        text = readFileSync(path, "utf8");
      } catch (e) {
        throw new DrpError(`cannot read ${path} (${(e as NodeJS.ErrnoException).code ?? e}); pass the timeline.json a drill or failover wrote`, 2);
      }
      const doc = renderPostmortem(parseTimeline(text, path), raw.lang);
      if (raw.out) writeFileSync(raw.out, doc);
      else process.stdout.write(doc);
    });
}
