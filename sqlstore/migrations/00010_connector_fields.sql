-- What Wordbee connectors read about documents and persons when they set up a connection
-- (GET /api/apps/wbflex/documents/{id}, POST /api/apps/wbflex/list, POST /api/persons/list).
-- All optional in the catalog: '' when not given.
--
-- documents.name is the document's name as Wordbee shows it (folders joined with '\');
-- source_locale is its source language and target_locales its target languages, BCP 47 in
-- canonical form, comma-separated. users.email is the person's e-mail address.

-- +goose Up
ALTER TABLE documents ADD COLUMN name TEXT NOT NULL DEFAULT '';
ALTER TABLE documents ADD COLUMN source_locale TEXT NOT NULL DEFAULT '';
ALTER TABLE documents ADD COLUMN target_locales TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN email TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE users DROP COLUMN email;
ALTER TABLE documents DROP COLUMN target_locales;
ALTER TABLE documents DROP COLUMN source_locale;
ALTER TABLE documents DROP COLUMN name;
