/** Picks the maintenance page's language: Spanish (the audience's) unless the visitor prefers English. */

export type Lang = "es" | "en";

export const DEFAULT_LANG: Lang = "es";

/**
 * `?lang=es|en` (the page's own language link) wins; otherwise the supported language with the highest
 * q-value in Accept-Language, earlier entries winning ties; q=0 means "not this one".
 */
export function chooseLang(url: URL, acceptLanguage: string | null): Lang {
  const forced = url.searchParams.get("lang");
  if (forced === "es" || forced === "en") return forced;
  if (!acceptLanguage) return DEFAULT_LANG;
  let best: Lang = DEFAULT_LANG;
  let bestQ = 0;
  // A header longer than this is not a browser's; ignore the rest rather than spend CPU on it.
  for (const part of acceptLanguage.slice(0, 512).split(",")) {
    const [tagPart, ...params] = part.split(";");
    const primary = tagPart.trim().toLowerCase().split("-")[0];
    if (primary !== "es" && primary !== "en") continue;
    let q = 1;
    for (const p of params) {
      const m = /^\s*q\s*=\s*([01](?:\.\d{0,3})?)\s*$/i.exec(p);
      if (m) q = Number(m[1]);
    }
    if (q > bestQ) {
      best = primary;
      bestQ = q;
    }
  }
  return best;
}
