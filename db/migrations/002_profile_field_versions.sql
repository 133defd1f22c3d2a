-- Write-behind profile changes are partial (any of displayName, bio, avatarUrl) and may reach the
-- database out of order (a late queue delivery, a direct write while Redis is down). A single
-- row version would make a late older change either overwrite newer fields or be dropped whole,
-- losing the fields only it changed. So each field remembers the version of the change that last
-- set it; a change sets a field only over an older one. profile_version stays the highest version
-- applied to the row (what cached profiles are stamped with).
alter table users add column if not exists profile_field_versions jsonb not null default '{}'::jsonb;

-- Rows edited before this migration: their fields are as new as the row.
update users
   set profile_field_versions = jsonb_build_object('displayName', profile_version, 'bio', profile_version, 'avatarUrl', profile_version)
 where profile_version > 0 and profile_field_versions = '{}'::jsonb;
