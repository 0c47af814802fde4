ALTER TABLE "batch_items" ADD COLUMN "delivery" text;--> statement-breakpoint
ALTER TABLE "batch_items" ADD COLUMN "delivery_code" text;--> statement-breakpoint
ALTER TABLE "batch_items" ADD COLUMN "delivery_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "batch_operations" ADD COLUMN "unknown_count" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "batch_operations" ADD COLUMN "delivered_count" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "batch_operations" ADD COLUMN "read_count" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "batch_operations" ADD COLUMN "undelivered_count" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
CREATE INDEX "batch_items_provider_message_idx" ON "batch_items" USING btree ("provider_message_id") WHERE "batch_items"."provider_message_id" is not null;--> statement-breakpoint
-- Unknown outcomes were counted as failed until now: move them to their own counter.
UPDATE "batch_operations" b SET "unknown_count" = u.n, "failed_count" = b."failed_count" - u.n
FROM (SELECT "batch_id", count(*)::int AS n FROM "batch_items" WHERE "status" = 'unknown' GROUP BY "batch_id") u
WHERE b."id" = u."batch_id";
