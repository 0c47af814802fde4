CREATE TABLE "import_chunks" (
	"batch_id" uuid NOT NULL,
	"first_row" integer NOT NULL,
	"last_row" integer NOT NULL,
	CONSTRAINT "import_chunks_batch_id_first_row_pk" PRIMARY KEY("batch_id","first_row")
);
--> statement-breakpoint
ALTER TABLE "import_chunks" ADD CONSTRAINT "import_chunks_batch_id_batch_operations_id_fk" FOREIGN KEY ("batch_id") REFERENCES "public"."batch_operations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
-- Imports paused or interrupted under the previous version resume after result.lastRow:
-- their rows up to it are committed chunks now.
INSERT INTO "import_chunks" ("batch_id", "first_row", "last_row")
SELECT "id", 1, ("result"->>'lastRow')::int FROM "batch_operations"
WHERE "type" = 'IMPORT' AND "status" IN ('PROCESSING', 'PAUSED') AND ("result"->>'lastRow')::int > 0;
