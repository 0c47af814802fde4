CREATE TABLE "undo_targets" (
	"batch_id" uuid NOT NULL,
	"contact_id" bigint NOT NULL,
	"created" boolean NOT NULL,
	"written_at" timestamp with time zone NOT NULL,
	"prev_name" text,
	"prev_tags" text[],
	"prev_attributes" jsonb,
	CONSTRAINT "undo_targets_batch_id_contact_id_pk" PRIMARY KEY("batch_id","contact_id")
);
--> statement-breakpoint
ALTER TABLE "batch_operations" DROP CONSTRAINT "batch_operations_type_check";--> statement-breakpoint
ALTER TABLE "batch_operations" ADD COLUMN "undone_by" uuid;--> statement-breakpoint
ALTER TABLE "batch_operations" ADD COLUMN "archive_purged_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "import_chunks" ADD COLUMN "created_ids" bigint[];--> statement-breakpoint
ALTER TABLE "import_chunks" ADD COLUMN "written_at" timestamp with time zone DEFAULT now();--> statement-breakpoint
ALTER TABLE "import_rows" ADD COLUMN "prev_name" text;--> statement-breakpoint
ALTER TABLE "import_rows" ADD COLUMN "prev_tags" text[];--> statement-breakpoint
ALTER TABLE "import_rows" ADD COLUMN "prev_attributes" jsonb;--> statement-breakpoint
ALTER TABLE "import_rows" ADD COLUMN "written_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "batch_operations" ADD CONSTRAINT "batch_operations_type_check" CHECK ("batch_operations"."type" in ('IMPORT','SEND','TAG','DELETE','UNDO'));