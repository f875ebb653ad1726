/**
 * Meta comment webhooks as Meta sends them for a Page's live video: the `feed` field, item "comment", verb
 * "add", with comment_id, post_id, parent_id, message, from { id, name } and created_time (Unix seconds),
 * signed `X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the raw body with the app secret>`. The messages
 * are what buyers type during a live sale: quantities, sizes, prices, emojis.
 */
import { createHmac } from "node:crypto";

const MESSAGES = [
  "quiero 2",
  "precio?",
  "me lo llevo talla M",
  "yo quiero 1 🙋‍♀️",
  "cuánto sale la polera?",
  "talla L por favor",
  "la quiero!! 😍",
  "tienes en negro?",
  "mío 🔥🔥",
  "quiero 3, talla S",
  "hacen envíos a Valparaíso?",
  "me lo llevo",
  "precio de las zapatillas? 👟",
  "quiero la azul talla 38",
  "reservame 1 porfa 🙏",
  "se puede pagar con transferencia?",
  "¿queda stock en M?",
  "yo! 2 unidades",
  "cuánto el envío a Concepción?",
  "la roja talla XL 💃",
  "quiero 1 de cada color",
  "mía la de 19.990 ✨",
  "tienen talla 40?",
  "me anoto con 2 🛍️",
] as const;

const FIRST = ["Camila", "Valentina", "Javiera", "Catalina", "Sofía", "Martina", "Diego", "Matías", "Benjamín", "Tomás", "Ignacia", "Fernanda", "José", "Antonia"] as const;
const LAST = ["González", "Muñoz", "Rojas", "Díaz", "Pérez", "Soto", "Contreras", "Silva", "Martínez", "Sepúlveda", "Morales", "Núñez"] as const;

/** Page and live-video post the spike's comments belong to (Meta ids are decimal strings). */
export const SPIKE_PAGE_ID = "104857600012345";
export const SPIKE_POST_ID = `${SPIKE_PAGE_ID}_771234567890123`;

export function metaSignature(body: string | Buffer, secret: string): string {
  return `sha256=${createHmac("sha256", secret).update(body).digest("hex")}`;
}

/**
 * The comment_id of arrival `i` of run `runId`: unique per run, so a receiver can count a run's comments
 * (`comment_id LIKE '<post>_<runId>%'`).
 */
export function spikeCommentId(runId: string, i: number): string {
  return `${SPIKE_POST_ID.split("_")[1]}_${runId}${String(i).padStart(7, "0")}`;
}

/** Comment `i` of run `runId` as one webhook body (deterministic per (runId, i), varied across i). */
export function metaCommentBody(runId: string, i: number, nowMs: number): string {
  // A multiplicative hash spreads consecutive arrivals over the message and name lists.
  const h = Math.imul(i + 1, 2654435761) >>> 0;
  const created = Math.floor(nowMs / 1000);
  return JSON.stringify({
    object: "page",
    entry: [
      {
        id: SPIKE_PAGE_ID,
        time: created,
        changes: [
          {
            field: "feed",
            value: {
              from: { id: String(7_100_000_000_000_000 + (h % 1_000_000)), name: `${FIRST[h % FIRST.length]} ${LAST[(h >>> 8) % LAST.length]}` },
              post: { status_type: "added_video", is_published: true, id: SPIKE_POST_ID },
              message: MESSAGES[(h >>> 4) % MESSAGES.length],
              post_id: SPIKE_POST_ID,
              comment_id: spikeCommentId(runId, i),
              created_time: created,
              item: "comment",
              parent_id: SPIKE_POST_ID,
              verb: "add",
            },
          },
        ],
      },
    ],
  });
}
