/**
 * The maintenance page as a visitor's browser renders it: headless Chromium loading the bundled Worker
 * from workerd over loopback. It must render, load nothing but itself, and pass axe-core.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Browser } from "playwright-core";
import { axeViolations, launchChromium, pngStats } from "../harness/chromium";
import { startWorkers, type Workers } from "../harness/workerd";
import { startTogether } from "../harness/together";

const SHOTS = join(__dirname, "__screenshots__");
const BASELINE = join(SHOTS, "maintenance-es.png");
const VIEWPORT = { width: 1280, height: 800 };

let w: Workers;
let browser: Browser;

beforeAll(async () => {
  [w, browser] = await startTogether(startWorkers({ maintenance: { MAINTENANCE: "on" } }, { listen: true }), launchChromium());
});

afterAll(async () => {
  await browser?.close();
  await w?.dispose();
});

async function open(opts: { locale: string; colorScheme: "light" | "dark"; viewport?: { width: number; height: number } }) {
  const context = await browser.newContext({ locale: opts.locale, colorScheme: opts.colorScheme, viewport: opts.viewport ?? VIEWPORT });
  const page = await context.newPage();
  const requests: string[] = [];
  const failed: string[] = [];
  const errors: string[] = [];
  page.on("request", (r) => requests.push(r.url()));
  page.on("requestfailed", (r) => failed.push(`${r.url()} ${r.failure()?.errorText}`));
  page.on("console", (m) => {
    // Chromium reports the document's own 503 as a console error; that status is the point of the page.
    const ownStatus = m.text().startsWith("Failed to load resource") && m.location().url === `${w.url}/`;
    if (m.type() === "error" && !ownStatus) errors.push(m.text());
  });
  page.on("pageerror", (e) => errors.push(e.message));
  const response = await page.goto(`${w.url}/`, { waitUntil: "load" });
  return { context, page, response, requests, failed, errors };
}

describe("maintenance page in Chromium", () => {
  it("renders the Spanish page with nothing loaded but itself, no errors, no axe violations, and a screenshot", async () => {
    const { context, page, response, requests, failed, errors } = await open({ locale: "es-CL", colorScheme: "light" });
    try {
      expect(response?.status()).toBe(503);
      const h1 = page.getByRole("heading", { level: 1 });
      await expect(h1.isVisible()).resolves.toBe(true);
      expect(await h1.textContent()).toBe("Mantenimiento Programado");
      expect(await page.title()).toBe("Mantenimiento Programado · LiveStreamSell AI");
      expect(requests).toEqual([`${w.url}/`]);
      expect(failed).toEqual([]);
      expect(errors).toEqual([]);
      expect(await axeViolations(page)).toEqual([]);

      const png = await page.screenshot();
      mkdirSync(SHOTS, { recursive: true });
      writeFileSync(join(SHOTS, "maintenance-es.actual.png"), png);
      if (!existsSync(BASELINE)) {
        if (process.env.CI) throw new Error(`missing screenshot baseline ${BASELINE}; run the test locally and commit it`);
        writeFileSync(BASELINE, png);
      }
      const [now, base] = await Promise.all([pngStats(browser, png), pngStats(browser, readFileSync(BASELINE))]);
      expect({ width: now.width, height: now.height }).toEqual({ width: base.width, height: base.height });
      expect({ width: now.width, height: now.height }).toEqual(VIEWPORT);
      // A rendered card with text has many colours and covers a fair share of the viewport; a blank page has neither.
      expect(now.colours).toBeGreaterThan(50);
      expect(now.inkShare).toBeGreaterThan(0.1);
      expect(now.inkShare).toBeLessThan(0.9);
    } finally {
      await context.close();
    }
  });

  it("renders the English page in dark mode on a phone without overflow or axe violations", async () => {
    const { context, page, requests, errors } = await open({ locale: "en-US", colorScheme: "dark", viewport: { width: 360, height: 740 } });
    try {
      expect(await page.getByRole("heading", { level: 1 }).textContent()).toBe("Scheduled Maintenance");
      expect(await page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")).toBe(true);
      expect(requests).toEqual([`${w.url}/`]);
      expect(errors).toEqual([]);
      expect(await axeViolations(page)).toEqual([]);
    } finally {
      await context.close();
    }
  });
});
