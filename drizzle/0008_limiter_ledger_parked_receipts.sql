CREATE TABLE "parked_receipts" (
	"id" bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "parked_receipts_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"channel_ids" text[] NOT NULL,
	"message_id" text NOT NULL,
	"delivery" text NOT NULL,
	"code" text,
	"received_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "channel_limits" ADD COLUMN "grant_at" double precision[] DEFAULT '{}'::float8[] NOT NULL;--> statement-breakpoint
ALTER TABLE "channel_limits" ADD COLUMN "grant_n" integer[] DEFAULT '{}'::int[] NOT NULL;--> statement-breakpoint
CREATE INDEX "parked_receipts_message_id_idx" ON "parked_receipts" USING btree ("message_id");--> statement-breakpoint
CREATE INDEX "parked_receipts_received_at_idx" ON "parked_receipts" USING btree ("received_at");