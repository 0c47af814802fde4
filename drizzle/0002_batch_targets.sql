CREATE TABLE "batch_targets" (
	"batch_id" uuid PRIMARY KEY NOT NULL,
	"ids" "bytea" NOT NULL
);
--> statement-breakpoint
ALTER TABLE "batch_targets" ADD CONSTRAINT "batch_targets_batch_id_batch_operations_id_fk" FOREIGN KEY ("batch_id") REFERENCES "public"."batch_operations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
-- Packed ids barely compress: store them as they are instead of trying pglz on megabytes.
ALTER TABLE "batch_targets" ALTER COLUMN "ids" SET STORAGE EXTERNAL;
