CREATE TABLE "upload_chunks" (
	"upload_id" uuid NOT NULL,
	"seq" integer NOT NULL,
	"data" "bytea" NOT NULL,
	"written_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "upload_chunks_upload_id_seq_pk" PRIMARY KEY("upload_id","seq")
);
--> statement-breakpoint
ALTER TABLE "batch_operations" ADD COLUMN "details_pruned" jsonb;--> statement-breakpoint
-- A pending import's file left in BATCHDESK_DATA_DIR/uploads by the previous version is not carried over (its import fails: "gone").
ALTER TABLE "import_uploads" ADD COLUMN "upload_id" uuid NOT NULL DEFAULT gen_random_uuid();--> statement-breakpoint
ALTER TABLE "import_uploads" ALTER COLUMN "upload_id" DROP DEFAULT;--> statement-breakpoint
ALTER TABLE "import_uploads" DROP COLUMN "path";--> statement-breakpoint
ALTER TABLE "import_uploads" ADD CONSTRAINT "import_uploads_upload_id_unique" UNIQUE("upload_id");--> statement-breakpoint
-- An import's stored upload goes in the same transaction that ends the import (completed,
-- failed, cancelled), whichever path ends it: the worker, batch.cancel, a final failure.
CREATE FUNCTION batch_ended_drop_upload() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	DELETE FROM upload_chunks
	WHERE upload_id = (SELECT upload_id FROM import_uploads WHERE batch_id = NEW.id);
	RETURN NULL;
END $$;--> statement-breakpoint
CREATE TRIGGER batch_ended_drop_upload AFTER UPDATE OF status ON batch_operations
	FOR EACH ROW
	WHEN (NEW.type = 'IMPORT' AND NEW.status IN ('COMPLETED', 'FAILED', 'CANCELLED') AND OLD.status IS DISTINCT FROM NEW.status)
	EXECUTE FUNCTION batch_ended_drop_upload();--> statement-breakpoint
-- The stats page's storage table: the app's main tables with their size on disk
-- (indexes and TOAST included) and the planner's row estimate (no count(*) scan).
CREATE FUNCTION main_table_sizes() RETURNS TABLE (table_name text, bytes bigint, rows_estimate bigint)
LANGUAGE sql STABLE AS $$
	SELECT c.relname::text, pg_total_relation_size(c.oid), greatest(c.reltuples, 0)::bigint
	FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
	WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p')
		AND c.relname IN ('contacts', 'batch_operations', 'batch_items', 'import_rows', 'import_chunks', 'batch_targets',
			'deleted_contacts', 'undo_targets', 'upload_chunks', 'import_uploads', 'parked_receipts', 'outbox', 'audit_log')
	ORDER BY 2 DESC
$$;