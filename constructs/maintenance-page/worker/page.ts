/**
 * The maintenance responses' bodies, built once per isolate: a self-contained HTML page (inline CSS and
 * SVG, no scripts, no external requests) in Spanish and English, and the JSON body for API clients.
 * Nothing from the request is ever written into them.
 */
import { RETRY_AFTER_SECONDS } from "../bindings";
import type { Lang } from "./language";

interface Copy {
  title: string;
  status: string;
  lead: string;
  detail: string;
  retry: string;
  footer: string;
  switchLabel: string;
  switchLang: Lang;
  switchName: string;
  apiMessage: string;
}

const minutes = Math.round(RETRY_AFTER_SECONDS / 60);

const COPY: Record<Lang, Copy> = {
  es: {
    title: "Mantenimiento Programado",
    status: "Mantenimiento en curso",
    lead: "Estamos realizando tareas de mantenimiento en LiveStreamSell AI para que tus transmisiones y ventas funcionen mejor.",
    detail: "El servicio volverá en breve. No necesitas hacer nada; gracias por tu paciencia.",
    retry: `Vuelve a cargar esta página en unos ${minutes} minutos.`,
    footer: "Equipo LiveStreamSell AI",
    switchLabel: "Read this page in English",
    switchLang: "en",
    switchName: "English",
    apiMessage: "El servicio está en mantenimiento. Reintenta más tarde.",
  },
  en: {
    title: "Scheduled Maintenance",
    status: "Maintenance in progress",
    lead: "We are performing maintenance on LiveStreamSell AI so your live streams and sales run better.",
    detail: "The service will be back shortly. There is nothing you need to do; thank you for your patience.",
    retry: `Please reload this page in about ${minutes} minutes.`,
    footer: "The LiveStreamSell AI team",
    switchLabel: "Leer esta página en español",
    switchLang: "es",
    switchName: "Español",
    apiMessage: "The service is under maintenance. Retry later.",
  },
};

const CSS = `
:root{color-scheme:light dark;--bg:#f4f3fb;--bg2:#ebe7fb;--card:#fff;--ink:#1c1838;--text:#4b4766;--muted:#5f5b7a;--line:#e4e1f2;--brand:#5b3cf0;--pill-bg:#fff3d6;--pill-ink:#6b4400;--dot:#e39a00}
@media (prefers-color-scheme:dark){:root{--bg:#14122a;--bg2:#1c1840;--card:#211d42;--ink:#f3f1ff;--text:#cfcbe8;--muted:#b4afd6;--line:#35306a;--brand:#b7a6ff;--pill-bg:#3b2f12;--pill-ink:#ffd98a;--dot:#ffc247}}
*{box-sizing:border-box}
html,body{margin:0;height:100%}
body{display:flex;align-items:center;justify-content:center;padding:24px;background:radial-gradient(1200px 600px at 15% 0%,var(--bg2),transparent 60%),var(--bg);color:var(--text);font:16px/1.6 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif}
main{width:100%;max-width:560px;background:var(--card);border:1px solid var(--line);border-radius:20px;padding:40px 40px 28px;box-shadow:0 1px 2px rgba(28,24,56,.06),0 18px 48px rgba(60,40,160,.10)}
.brand{display:flex;align-items:center;gap:12px;margin:0 0 32px;color:var(--ink);font-weight:700;font-size:18px;letter-spacing:-.01em}
.brand svg{flex:none}
.brand span b{color:var(--brand)}
.status{display:inline-flex;align-items:center;gap:8px;margin:0 0 16px;padding:4px 12px;border-radius:999px;background:var(--pill-bg);color:var(--pill-ink);font-size:14px;font-weight:600}
.dot{width:8px;height:8px;border-radius:50%;background:var(--dot);animation:pulse 2.4s ease-in-out infinite}
@keyframes pulse{50%{opacity:.35}}
@media (prefers-reduced-motion:reduce){.dot{animation:none}}
h1{margin:0 0 16px;color:var(--ink);font-size:32px;line-height:1.2;letter-spacing:-.02em}
p{margin:0 0 12px}
.retry{margin-top:20px;color:var(--ink);font-weight:600}
.foot{display:flex;justify-content:space-between;gap:16px;flex-wrap:wrap;margin:28px 0 0;padding-top:18px;border-top:1px solid var(--line);color:var(--muted);font-size:14px}
a{color:var(--brand);text-underline-offset:3px}
@media (max-width:480px){main{padding:28px 22px 20px}h1{font-size:26px}}
`.replace(/\n/g, "");

// The mark: a live "play" tile in the brand's violet-to-magenta gradient.
const LOGO = `<svg width="36" height="36" viewBox="0 0 36 36" aria-hidden="true" focusable="false"><defs><linearGradient id="g" x1="0" y1="0" x2="1" y2="1"><stop offset="0" stop-color="#5b3cf0"/><stop offset="1" stop-color="#d9368b"/></linearGradient></defs><rect width="36" height="36" rx="10" fill="url(#g)"/><path d="M14 11.5v13l10.5-6.5z" fill="#fff"/></svg>`;

function html(lang: Lang): string {
  const c = COPY[lang];
  return `<!doctype html>
<html lang="${lang}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1">
<meta name="robots" content="noindex">
<title>${c.title} · LiveStreamSell AI</title>
<link rel="icon" href="data:,">
<style>${CSS}</style>
</head>
<body>
<main>
<div class="brand">${LOGO}<span>LiveStreamSell <b>AI</b></span></div>
<p class="status"><span class="dot" aria-hidden="true"></span>${c.status}</p>
<h1>${c.title}</h1>
<p>${c.lead}</p>
<p>${c.detail}</p>
<p class="retry">${c.retry}</p>
<p class="foot"><span>${c.footer}</span><a href="?lang=${c.switchLang}" lang="${c.switchLang}" hreflang="${c.switchLang}" aria-label="${c.switchLabel}">${c.switchName}</a></p>
</main>
</body>
</html>
`;
}

export const MAINTENANCE_HTML: Readonly<Record<Lang, string>> = { es: html("es"), en: html("en") };

export const MAINTENANCE_TITLE: Readonly<Record<Lang, string>> = { es: COPY.es.title, en: COPY.en.title };

export const MAINTENANCE_JSON: Readonly<Record<Lang, string>> = {
  es: JSON.stringify({ error: "maintenance", message: COPY.es.apiMessage, retryAfterSeconds: RETRY_AFTER_SECONDS }),
  en: JSON.stringify({ error: "maintenance", message: COPY.en.apiMessage, retryAfterSeconds: RETRY_AFTER_SECONDS }),
};

/** For Meta's webhook deliveries: any non-2xx makes Meta retry, so the event is delivered after recovery. */
export const WEBHOOK_TEXT = "Service temporarily unavailable; retry later.\n";

/** Only the inline style block; no script, frame, font, image or connection may load. */
export const PAGE_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";
