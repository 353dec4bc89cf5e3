-- Custom migration: what replicas remember of machine clients (their status and scopes,
-- their API keys) must be forgotten on every replica the moment it changes. Payload:
-- 'client:<id>', on the channel the sessions use.
CREATE FUNCTION "notify_client_access_changed"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' OR OLD."status" IS DISTINCT FROM NEW."status" OR OLD."scopes" IS DISTINCT FROM NEW."scopes" THEN
    PERFORM pg_notify('user_access_changed', 'client:' || OLD."id"::text);
  END IF;
  RETURN NULL;
END;
$$;
--> statement-breakpoint
CREATE TRIGGER "clients_access_changed" AFTER UPDATE OF "status", "scopes" OR DELETE ON "clients"
  FOR EACH ROW EXECUTE FUNCTION "notify_client_access_changed"();
--> statement-breakpoint
CREATE FUNCTION "notify_api_key_changed"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' OR OLD."scopes" IS DISTINCT FROM NEW."scopes" OR OLD."expires_at" IS DISTINCT FROM NEW."expires_at" THEN
    PERFORM pg_notify('user_access_changed', 'client:' || OLD."client_id"::text);
  END IF;
  RETURN NULL;
END;
$$;
--> statement-breakpoint
CREATE TRIGGER "api_keys_access_changed" AFTER UPDATE OF "scopes", "expires_at" OR DELETE ON "api_keys"
  FOR EACH ROW EXECUTE FUNCTION "notify_api_key_changed"();
