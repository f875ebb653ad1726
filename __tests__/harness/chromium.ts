/** Headless Debian Chromium driven by playwright-core, plus axe-core for accessibility checks. */
import { readFileSync } from "node:fs";
import { chromium, type Browser, type Page } from "playwright-core";

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH || "/usr/bin/chromium";

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
  });
}

let axeSource: string | undefined;

export interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: { target: unknown[] }[];
}

/** Runs axe-core in the page (evaluated through the debugging protocol, so the page's CSP does not block it). */
export async function axeViolations(page: Page): Promise<AxeViolation[]> {
  axeSource ??= readFileSync(require.resolve("axe-core/axe.min.js"), "utf8");
  await page.evaluate(`${axeSource};void 0`);
  // Browser-side code is passed as text: the project's type-check has no DOM library.
  return page.evaluate(`axe.run(document, { resultTypes: ["violations"] }).then((r) =>
    r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map((n) => ({ target: n.target })) })))`);
}

export interface PngStats {
  width: number;
  height: number;
  /** Distinct colours among sampled pixels. */
  colours: number;
  /** Share of sampled pixels that differ visibly from the top-left pixel (the background). */
  inkShare: number;
}

/** Decodes a PNG in a blank page and samples it: enough to tell a rendered page from a blank one. */
export async function pngStats(browser: Browser, png: Buffer): Promise<PngStats> {
  const page = await browser.newPage();
  try {
    return await page.evaluate(`(async () => {
      const img = new Image();
      img.src = "data:image/png;base64,${png.toString("base64")}";
      await img.decode();
      const canvas = document.createElement("canvas");
      canvas.width = img.naturalWidth;
      canvas.height = img.naturalHeight;
      const ctx = canvas.getContext("2d");
      ctx.drawImage(img, 0, 0);
      const data = ctx.getImageData(0, 0, canvas.width, canvas.height).data;
      const colours = new Set();
      let ink = 0;
      let samples = 0;
      const [r0, g0, b0] = [data[0], data[1], data[2]];
      for (let i = 0; i < data.length; i += 4 * 7) {
        samples++;
        colours.add((data[i] << 16) | (data[i + 1] << 8) | data[i + 2]);
        if (Math.abs(data[i] - r0) + Math.abs(data[i + 1] - g0) + Math.abs(data[i + 2] - b0) > 24) ink++;
      }
      return { width: canvas.width, height: canvas.height, colours: colours.size, inkShare: ink / samples };
    })()`);
  } finally {
    await page.close();
  }
}
