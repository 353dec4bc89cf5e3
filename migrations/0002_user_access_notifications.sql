-- Custom migration: replicas cache who may do what (a user's role) and must learn
-- at once when that changes, whoever changed it (another replica, user:create, psql).
CREATE FUNCTION "notify_user_access_changed"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' OR OLD."role" IS DISTINCT FROM NEW."role" THEN
    PERFORM pg_notify('user_access_changed', OLD."id"::text);
  END IF;
  RETURN NULL;
END;
$$;
--> statement-breakpoint
CREATE TRIGGER "users_access_changed" AFTER UPDATE OF "role" OR DELETE ON "users"
  FOR EACH ROW EXECUTE FUNCTION "notify_user_access_changed"();
