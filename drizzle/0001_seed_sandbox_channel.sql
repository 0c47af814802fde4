-- The sandbox channel is the default target of batch.send: it must always exist.
INSERT INTO "channels" ("id", "name", "kind", "config", "rate_per_second")
VALUES ('sandbox', 'Sandbox (outbox)', 'sandbox', '{"latencyMs":0,"failureRate":0}'::jsonb, 100000)
ON CONFLICT ("id") DO NOTHING;
