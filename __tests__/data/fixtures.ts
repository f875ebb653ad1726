/** Shop data built to break naive exporters: Unicode, NULLs, bytea, jsonb, long text, many tables, sequences. */

export const CRITICAL_TABLES = ["orders", "order_states", "audit_logs", "shop.customers", "shop.AuditTrail"];

const longText = "línea\tcon\ttabulaciones y \"comillas\" y \\barras\\\n".repeat(4000);

export const SHOP_SQL = `
CREATE SCHEMA shop;
CREATE TYPE shop.order_status AS ENUM ('new', 'paid', 'shipped', 'cancelled');
CREATE SEQUENCE shop.invoice_seq START 1000;

CREATE TABLE shop.customers (
  id bigserial PRIMARY KEY,
  name text NOT NULL,
  email text UNIQUE,
  note text
);
CREATE TABLE public.orders (
  id bigserial PRIMARY KEY,
  customer_id bigint REFERENCES shop.customers (id),
  status shop.order_status NOT NULL DEFAULT 'new',
  amount numeric(12, 2) CHECK (amount >= 0),
  payload jsonb,
  receipt bytea,
  comment text,
  invoice bigint DEFAULT nextval('shop.invoice_seq'),
  created_at timestamptz NOT NULL DEFAULT '2026-11-01T00:00:00Z'
);
CREATE INDEX orders_created_at_idx ON public.orders (created_at);
CREATE TABLE public.order_states (
  order_id bigint REFERENCES public.orders (id) ON DELETE CASCADE,
  state shop.order_status NOT NULL,
  at timestamptz NOT NULL,
  PRIMARY KEY (order_id, at)
);
CREATE TABLE public.audit_logs (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  actor text,
  action text NOT NULL,
  detail jsonb
);
CREATE TABLE shop."AuditTrail" ("Event Name" text, "at" timestamptz);
CREATE VIEW shop.paid_orders AS SELECT id, amount FROM public.orders WHERE status = 'paid';
CREATE FUNCTION shop.touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.action := lower(NEW.action); RETURN NEW; END $$;
CREATE TRIGGER audit_lower BEFORE INSERT ON public.audit_logs FOR EACH ROW EXECUTE FUNCTION shop.touch();
COMMENT ON TABLE public.orders IS 'Pedidos — 注文 — הזמנות';

INSERT INTO shop.customers (name, email, note) VALUES
  ('José Ñúñez', 'jose@example.com', E'multi\\nline\\tnote'),
  ('🛒🔥 Live Seller 😀', NULL, NULL),
  ('مرحبا بالعالم', 'rtl@example.com', 'שלום עולם'),
  ('Zoë "Quotes" O''Brien', 'zoe@example.com', E'back\\\\slash and \\r carriage');

INSERT INTO public.orders (customer_id, status, amount, payload, receipt, comment) VALUES
  (1, 'paid', 19.90, '{"items": [{"sku": "ÇÃO-1", "qty": 2}], "emoji": "🎁", "nested": {"null": null}}', decode(repeat('00ff7f80', 64), 'hex'), NULL),
  (2, 'new', 0, NULL, NULL, $long$${longText}$long$),
  (3, 'shipped', 1234567.89, '[]', '\\x', E'tab\\there'),
  (NULL, 'cancelled', NULL, '{"rtl": "عربى", "zero": 0}', decode('deadbeef', 'hex'), '');
INSERT INTO public.orders (customer_id, amount, payload)
  SELECT 1 + g % 4, g, jsonb_build_object('g', g, 'tags', jsonb_build_array('a', 'ü', g)) FROM generate_series(1, 500) g;
INSERT INTO public.order_states (order_id, state, at)
  SELECT id, 'new', created_at + make_interval(secs => id) FROM public.orders;
INSERT INTO public.audit_logs (actor, action, detail)
  SELECT 'bot', 'REPLIED', jsonb_build_object('comment', 'gracias ' || g) FROM generate_series(1, 300) g;
INSERT INTO shop."AuditTrail" VALUES ('Order "Paid"', '2026-11-02T10:00:00Z'), (NULL, NULL);
SELECT setval('shop.invoice_seq', 4242, true);

DO $$
BEGIN
  FOR i IN 1..50 LOOP
    EXECUTE format('CREATE TABLE public.catalog_%s (id int PRIMARY KEY, label text)', lpad(i::text, 2, '0'));
    EXECUTE format('INSERT INTO public.catalog_%s SELECT g, %L || g FROM generate_series(1, %s) g', lpad(i::text, 2, '0'), 'item-ñ-', i);
  END LOOP;
END $$;
`;
