ALTER TABLE "api_tokens" ADD COLUMN "expires_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "users" ADD COLUMN "disabled_at" timestamp with time zone;--> statement-breakpoint
-- hand-written below
-- Revocation notices for open WebSockets (trpc/ws-auth.ts LISTENs on batchdesk_auth):
-- whatever ends or changes a credential, by any path (a revoke, a sign-out, expired
-- sessions swept, a user disabled, deleted or given another role, a password reset),
-- notifies the user's id, and each web process re-checks that user's sockets.
-- NOTIFY folds identical payloads of one transaction into one.
CREATE FUNCTION batchdesk_auth_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF TG_TABLE_NAME = 'users' THEN
		PERFORM pg_notify('batchdesk_auth', OLD.id::text);
	ELSE
		PERFORM pg_notify('batchdesk_auth', OLD.user_id::text);
	END IF;
	RETURN NULL;
END $$;--> statement-breakpoint
CREATE TRIGGER users_auth_notify AFTER UPDATE OF role, disabled_at, password_hash OR DELETE ON users
	FOR EACH ROW EXECUTE FUNCTION batchdesk_auth_notify();--> statement-breakpoint
CREATE TRIGGER sessions_auth_notify AFTER DELETE ON sessions
	FOR EACH ROW EXECUTE FUNCTION batchdesk_auth_notify();--> statement-breakpoint
CREATE TRIGGER api_tokens_auth_notify AFTER UPDATE OF revoked_at, expires_at OR DELETE ON api_tokens
	FOR EACH ROW EXECUTE FUNCTION batchdesk_auth_notify();
