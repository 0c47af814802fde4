CREATE TABLE "login_throttle" (
	"key" text PRIMARY KEY NOT NULL,
	"failures" integer DEFAULT 0 NOT NULL,
	"next_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
DROP TABLE "login_failures" CASCADE;--> statement-breakpoint
-- hand-written below
-- One sign-in attempt, decided and recorded in one call: 0 when the attempt may check its
-- password (and is already counted against every key, as if it failed: a success undoes
-- it), else the seconds to wait. The keys' rows are locked in key order, so concurrent
-- attempts on the same keys run one after the other and each sees the counts the previous
-- one wrote: 100 parallel guesses cannot all pass a check made before any was recorded.
-- A key's count is forgotten after p_window_seconds without an attempt. From its
-- p_free[i]-th counted attempt on, a key makes the next one wait p_base_seconds,
-- doubling with each further attempt, capped at p_window_seconds.
CREATE OR REPLACE FUNCTION login_attempt(p_keys text[], p_free int[], p_base_seconds float8, p_window_seconds float8)
RETURNS float8 LANGUAGE plpgsql AS $$
DECLARE
	wait float8 := 0;
BEGIN
	INSERT INTO login_throttle (key) SELECT k FROM unnest(p_keys) k ORDER BY k ON CONFLICT (key) DO NOTHING;
	PERFORM 1 FROM login_throttle WHERE key = ANY (p_keys) ORDER BY key FOR UPDATE;
	SELECT coalesce(max(extract(epoch FROM next_at - now())), 0) INTO wait
	FROM login_throttle WHERE key = ANY (p_keys) AND next_at > now();
	IF wait > 0 THEN
		RETURN wait;
	END IF;
	UPDATE login_throttle t
	SET failures = c.n,
		next_at = CASE WHEN c.n >= c.free
			THEN now() + make_interval(secs => least(p_base_seconds * power(2, c.n - c.free), p_window_seconds))
			ELSE now() END,
		updated_at = now()
	FROM (
		SELECT k.key, k.free,
			CASE WHEN t2.updated_at < now() - make_interval(secs => p_window_seconds) THEN 1 ELSE t2.failures + 1 END AS n
		FROM unnest(p_keys, p_free) AS k(key, free) JOIN login_throttle t2 ON t2.key = k.key
	) c
	WHERE t.key = c.key;
	RETURN 0;
END $$;
