ALTER TABLE "batch_items" ADD COLUMN "quiet_zones" text[];--> statement-breakpoint
ALTER TABLE "batch_items" ADD COLUMN "quiet_until" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "batch_operations" ADD COLUMN "quiet_start" smallint;--> statement-breakpoint
ALTER TABLE "batch_operations" ADD COLUMN "quiet_end" smallint;--> statement-breakpoint
ALTER TABLE "channels" ADD COLUMN "quiet_start" smallint;--> statement-breakpoint
ALTER TABLE "channels" ADD COLUMN "quiet_end" smallint;--> statement-breakpoint
ALTER TABLE "batch_operations" ADD CONSTRAINT "batch_operations_quiet_check" CHECK (("batch_operations"."quiet_start" is null and "batch_operations"."quiet_end" is null) or ("batch_operations"."quiet_start" between 0 and 1439 and "batch_operations"."quiet_end" between 0 and 1439 and "batch_operations"."quiet_start" <> "batch_operations"."quiet_end"));--> statement-breakpoint
ALTER TABLE "channels" ADD CONSTRAINT "channels_quiet_check" CHECK (("channels"."quiet_start" is null and "channels"."quiet_end" is null) or ("channels"."quiet_start" between 0 and 1439 and "channels"."quiet_end" between 0 and 1439 and "channels"."quiet_start" <> "channels"."quiet_end"));