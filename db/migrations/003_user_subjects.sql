-- The identity provider names a signed-in user by its `sub` claim: a UUID for Cognito (and most
-- OpenID providers), never the shop's numeric user id. Each user row records the subject that signs
-- in as it; ids stay the keys of the resources (/api/users/{id}, orders.user_id, cache keys).
-- Nullable: a user created before sign-in was wired (or by an import) has no subject until linked.
alter table users add column if not exists subject uuid;
create unique index if not exists users_subject_idx on users (subject);
