-- pg_trgm: the name search's trigram index. Shipped with the embedded server (npm
-- embedded-postgres) and with every standard Postgres build; trusted since Postgres 13,
-- so the database owner may create it without superuser rights.
CREATE EXTENSION IF NOT EXISTS pg_trgm;--> statement-breakpoint
CREATE TABLE "contact_totals" (
	"one" boolean PRIMARY KEY DEFAULT true NOT NULL,
	"contacts" bigint NOT NULL,
	CONSTRAINT "contact_totals_one" CHECK ("contact_totals"."one")
);
--> statement-breakpoint
CREATE TABLE "tag_counts" (
	"tag" text PRIMARY KEY NOT NULL,
	"contacts" bigint NOT NULL
);
--> statement-breakpoint
ALTER TABLE "contacts" DROP CONSTRAINT "contacts_phone_e164_unique";--> statement-breakpoint
CREATE UNIQUE INDEX "contacts_phone_e164_unique" ON "contacts" USING btree ("phone_e164" text_pattern_ops);--> statement-breakpoint
CREATE INDEX "contacts_name_trgm" ON "contacts" USING gin ("name" gin_trgm_ops);--> statement-breakpoint
-- Tag counts and the contact total, kept by statement-level triggers over transition
-- tables: one aggregate per statement (an import chunk, a bulk chunk), not one per row.
-- Totals are locked before tags, and tags in tag order, so two writers take their row
-- locks in the same order. A statement that changes nothing writes nothing.
CREATE FUNCTION contacts_counts_insert() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE n bigint;
BEGIN
	SELECT count(*) INTO n FROM new_rows;
	IF n = 0 THEN RETURN NULL; END IF;
	UPDATE contact_totals SET contacts = contacts + n;
	INSERT INTO tag_counts AS tc (tag, contacts)
	SELECT t, count(*) FROM new_rows, unnest(tags) t GROUP BY t ORDER BY t
	ON CONFLICT (tag) DO UPDATE SET contacts = tc.contacts + excluded.contacts;
	RETURN NULL;
END $$;--> statement-breakpoint
CREATE FUNCTION contacts_counts_delete() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE n bigint;
BEGIN
	SELECT count(*) INTO n FROM old_rows;
	IF n = 0 THEN RETURN NULL; END IF;
	UPDATE contact_totals SET contacts = contacts - n;
	INSERT INTO tag_counts AS tc (tag, contacts)
	SELECT t, -count(*) FROM old_rows, unnest(tags) t GROUP BY t ORDER BY t
	ON CONFLICT (tag) DO UPDATE SET contacts = tc.contacts + excluded.contacts;
	RETURN NULL;
END $$;--> statement-breakpoint
-- Only the difference: a tag added to 10k contacts is one row +10000; an update that
-- leaves tags alone (a name, an opt-out) nets to nothing and writes nothing.
CREATE FUNCTION contacts_counts_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO tag_counts AS tc (tag, contacts)
	SELECT t, sum(d) FROM (
		SELECT unnest(tags) AS t, 1 AS d FROM new_rows
		UNION ALL
		SELECT unnest(tags), -1 FROM old_rows
	) x GROUP BY t HAVING sum(d) <> 0 ORDER BY t
	ON CONFLICT (tag) DO UPDATE SET contacts = tc.contacts + excluded.contacts;
	RETURN NULL;
END $$;--> statement-breakpoint
CREATE FUNCTION contacts_counts_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	DELETE FROM tag_counts;
	UPDATE contact_totals SET contacts = 0;
	RETURN NULL;
END $$;--> statement-breakpoint
CREATE TRIGGER contacts_counts_insert AFTER INSERT ON contacts REFERENCING NEW TABLE AS new_rows
	FOR EACH STATEMENT EXECUTE FUNCTION contacts_counts_insert();--> statement-breakpoint
CREATE TRIGGER contacts_counts_delete AFTER DELETE ON contacts REFERENCING OLD TABLE AS old_rows
	FOR EACH STATEMENT EXECUTE FUNCTION contacts_counts_delete();--> statement-breakpoint
CREATE TRIGGER contacts_counts_update AFTER UPDATE ON contacts REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
	FOR EACH STATEMENT EXECUTE FUNCTION contacts_counts_update();--> statement-breakpoint
CREATE TRIGGER contacts_counts_truncate AFTER TRUNCATE ON contacts
	FOR EACH STATEMENT EXECUTE FUNCTION contacts_counts_truncate();--> statement-breakpoint
-- The counts of the contacts already there (one scan, at migration time only).
LOCK TABLE contacts IN SHARE MODE;--> statement-breakpoint
INSERT INTO contact_totals (one, contacts) SELECT true, count(*) FROM contacts;--> statement-breakpoint
INSERT INTO tag_counts (tag, contacts) SELECT t, count(*) FROM contacts, unnest(tags) t GROUP BY t;
