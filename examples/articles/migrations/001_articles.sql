-- The articles app's tables. Applied at deploy time by OriginDatabase's migration custom resource
-- (stack.ts: migrationsDirectory), and by the tests, through the runtime's runMigrations, which records
-- it in schema_migrations: add a 002_… file for a change, never edit this one once deployed.
CREATE TABLE IF NOT EXISTS articles (
  slug      text PRIMARY KEY CHECK (slug ~ '^[a-z0-9-]{1,64}$'),
  title     text NOT NULL,
  body      text NOT NULL,
  author    text NOT NULL,
  published boolean NOT NULL DEFAULT false,
  version   integer NOT NULL DEFAULT 1
);
CREATE INDEX IF NOT EXISTS articles_drafts ON articles (author) WHERE NOT published;

CREATE TABLE IF NOT EXISTS comments (
  id           bigserial PRIMARY KEY,
  article_slug text NOT NULL REFERENCES articles (slug),
  author       text NOT NULL,
  text         text NOT NULL,
  created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS comments_by_article ON comments (article_slug, id);
