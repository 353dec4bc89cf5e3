-- Custom migration: replicas remember which sessions are valid and what role their
-- users have, and must learn at once when that changes, whoever changed it.
-- Payloads say what to forget: 'user:<id>' (role or status changed, or deleted) or
-- 'session:<id>' (revoked or deleted).
DROP TRIGGER "users_access_changed" ON "users";
--> statement-breakpoint
CREATE OR REPLACE FUNCTION "notify_user_access_changed"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' OR OLD."role" IS DISTINCT FROM NEW."role" OR OLD."status" IS DISTINCT FROM NEW."status" THEN
    PERFORM pg_notify('user_access_changed', 'user:' || OLD."id"::text);
  END IF;
  RETURN NULL;
END;
$$;
--> statement-breakpoint
CREATE TRIGGER "users_access_changed" AFTER UPDATE OF "role", "status" OR DELETE ON "users"
  FOR EACH ROW EXECUTE FUNCTION "notify_user_access_changed"();
--> statement-breakpoint
CREATE FUNCTION "notify_session_ended"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' OR (OLD."revoked_at" IS NULL AND NEW."revoked_at" IS NOT NULL) THEN
    PERFORM pg_notify('user_access_changed', 'session:' || OLD."id"::text);
  END IF;
  RETURN NULL;
END;
$$;
--> statement-breakpoint
CREATE TRIGGER "sessions_ended" AFTER UPDATE OF "revoked_at" OR DELETE ON "sessions"
  FOR EACH ROW EXECUTE FUNCTION "notify_session_ended"();
