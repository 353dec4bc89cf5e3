-- Trigram operator classes for the GIN indexes of the next migration, which serve the
-- listing's `name ILIKE '%q%' OR email ILIKE '%q%'` search (src/users/listing.ts).
-- pg_trgm is a trusted extension since PostgreSQL 13: the database owner may create it
-- without being a superuser. PGlite ships it as a contrib extension, loaded in
-- src/db/connect.ts.
CREATE EXTENSION IF NOT EXISTS pg_trgm;
