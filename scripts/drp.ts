/**
 * drp: the operator CLI of the Disaster Recovery Plan. Each command lives in scripts/commands/
 * and registers itself here; exit codes: 0 ok, 1 the operation failed (a check, a restore),
 * 2 bad usage or input.
 */
import { Command, CommanderError } from "commander";
import { failAndExit } from "./lib/cli";
import { unlessInterrupted } from "./lib/interrupt";
import { startTimings } from "./lib/timings";
import { registerMaintenance } from "./commands/maintenance";
import { registerSmoke } from "./commands/smoke";
import { registerExport } from "./commands/export";
import { registerPitr } from "./commands/pitr";
import { registerRestore } from "./commands/restore";
import { registerVerify } from "./commands/verify";
import { registerDrill } from "./commands/drill";
import { registerPostmortem } from "./commands/postmortem";
import { registerFailover } from "./commands/failover";
import { registerCode } from "./commands/code";
import { registerBackups } from "./commands/backups";
import { registerRender } from "./commands/render";
import { registerChaos } from "./commands/chaos";
import { version } from "../package.json";

export function buildProgram(): Command {
  const program = new Command("drp")
    .description("LiveStreamSell AI disaster recovery: export, verify, restore, PITR, smoke gate, maintenance page, the local drill and the post-mortem")
    .version(version)
    .showHelpAfterError("(run with --help for usage)")
    // drp's own options come before the command: a subcommand (`pitr status`) gets every option after its name.
    .enablePositionalOptions()
    .exitOverride();
  // Commands register here, one line each.
  registerSmoke(program);
  registerMaintenance(program);
  registerExport(program);
  registerVerify(program);
  registerRestore(program);
  registerPitr(program);
  registerDrill(program);
  registerPostmortem(program);
  registerFailover(program);
  registerCode(program);
  registerBackups(program);
  registerRender(program);
  registerChaos(program);
  return program;
}

export async function main(argv = process.argv): Promise<void> {
  try {
    startTimings();
    await buildProgram().parseAsync(argv);
  } catch (e) {
    if (e instanceof CommanderError) process.exit(e.exitCode === 0 ? 0 : 2);
    // Interrupted: the signal handler finishes its cleanups and exits 130/143 itself.
    await unlessInterrupted();
    failAndExit(e);
  }
}

if (require.main === module) void main();
