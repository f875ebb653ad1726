/**
 * The incident document for the wiki, from a drill or failover timeline: summary, impact (RTO, RPO, orders
 * and comments affected), the timeline as a table and a Mermaid Gantt chart, and the sections people fill
 * in (root cause, action items).
 */
import { PLAN, type StepId } from "./steps";
import type { Timeline } from "./runner";

export type Lang = "es" | "en";

const T = {
  en: {
    title: "Post-mortem",
    summary: "Summary",
    impact: "Impact",
    timeline: "Timeline",
    rootCause: "Root cause",
    actions: "Action items",
    fill: "_To be written by the incident owner._",
    step: "Step",
    status: "Status",
    start: "Started (UTC)",
    seconds: "Seconds",
    detail: "Detail",
    rto: "Recovery time (RTO)",
    rpo: "Data loss (RPO)",
    orders: "Orders lost",
    comments: "Comments lost",
    alerts: "Alerts sent",
    kind: { drill: "Drill", failover: "Failover" },
    ok: "All steps passed.",
    failed: (s: string) => `Stopped at step \`${s}\`; traffic stays on the maintenance page.`,
    action: "| # | Action | Owner | Due |\n|---|---|---|---|\n| 1 | | | |",
  },
  es: {
    title: "Post-mortem",
    summary: "Resumen",
    impact: "Impacto",
    timeline: "Cronología",
    rootCause: "Causa raíz",
    actions: "Acciones",
    fill: "_A completar por el responsable del incidente._",
    step: "Paso",
    status: "Estado",
    start: "Inicio (UTC)",
    seconds: "Segundos",
    detail: "Detalle",
    rto: "Tiempo de recuperación (RTO)",
    rpo: "Pérdida de datos (RPO)",
    orders: "Pedidos perdidos",
    comments: "Comentarios perdidos",
    alerts: "Alertas enviadas",
    kind: { drill: "Simulacro", failover: "Failover" },
    ok: "Todos los pasos pasaron.",
    failed: (s: string) => `Detenido en el paso \`${s}\`; el tráfico sigue en la página de mantenimiento.`,
    action: "| # | Acción | Responsable | Fecha |\n|---|---|---|---|\n| 1 | | | |",
  },
} as const;

const seconds = (a: string, b: string) => Math.round((Date.parse(b) - Date.parse(a)) / 100) / 10;
/** UTC as Mermaid's dateFormat above reads it (no zone letter). */
const mermaidTime = (iso: string) => iso.replace("T", " ").replace("Z", "");
const cell = (s: string) => s.replace(/\|/g, "\\|").replace(/\n/g, " ");
const fact = (f: Record<string, unknown>, k: string) => (f[k] === undefined ? "—" : String(f[k]));

export function renderPostmortem(t: Timeline, lang: Lang = "es"): string {
  const L = T[lang];
  const title = (id: StepId) => PLAN.find((s) => s.id === id)?.title[lang] ?? id;
  const failed = t.entries.find((e) => e.status === "failed");
  const end = t.entries.at(-1)?.endedAt ?? t.startedAt;
  const gantt = [
    "```mermaid",
    "gantt",
    `  title ${L.kind[t.kind]} ${t.scenario}`,
    "  dateFormat YYYY-MM-DD HH:mm:ss.SSS",
    "  axisFormat %H:%M:%S",
    ...t.entries.map((e, i) => `  ${e.step} :${e.status === "failed" ? "crit, " : ""}s${i}, ${mermaidTime(e.startedAt)}, ${Math.max(1, Date.parse(e.endedAt) - Date.parse(e.startedAt))}ms`),
    "```",
  ];
  const rows = t.entries.map((e) => `| ${cell(title(e.step))} | ${e.status} | ${e.startedAt} | ${seconds(e.startedAt, e.endedAt)} | ${cell(e.error ? `${e.error}${e.rollback ? ` (rollback: ${e.rollback})` : ""}` : e.detail)} |`);
  return [
    `# ${L.title}: ${L.kind[t.kind]} \`${t.scenario}\` ${t.startedAt.slice(0, 10)}`,
    "",
    `## ${L.summary}`,
    "",
    `${L.kind[t.kind]} \`${t.scenario}\`, ${t.startedAt} → ${end}. ${failed ? L.failed(failed.step) : L.ok}`,
    "",
    `## ${L.impact}`,
    "",
    `| | |`,
    `|---|---|`,
    `| ${L.rto} | ${fact(t.facts, "rtoSeconds")} s |`,
    `| ${L.rpo} | ${fact(t.facts, "rpoSeconds")} s |`,
    `| ${L.orders} | ${fact(t.facts, "ordersLost")} |`,
    `| ${L.comments} | ${fact(t.facts, "commentsLost")} |`,
    `| ${L.alerts} | ${fact(t.facts, "alerts")} |`,
    "",
    `## ${L.timeline}`,
    "",
    `| ${L.step} | ${L.status} | ${L.start} | ${L.seconds} | ${L.detail} |`,
    "|---|---|---|---|---|",
    ...rows,
    "",
    ...gantt,
    "",
    `## ${L.rootCause}`,
    "",
    L.fill,
    "",
    `## ${L.actions}`,
    "",
    L.action,
    "",
  ].join("\n");
}
