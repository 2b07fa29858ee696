-- ACME (RFC 8555) objects: EAB keys, accounts, orders, authorizations, the nonce key.
CREATE TABLE acme_objects (
  id TEXT PRIMARY KEY,
  kind TEXT NOT NULL,
  account TEXT NOT NULL DEFAULT '',
  ticket TEXT NOT NULL DEFAULT '',
  status TEXT NOT NULL,
  body TEXT NOT NULL,
  updated_at INTEGER NOT NULL
);
CREATE INDEX acme_objects_kind_account ON acme_objects (kind, account, id);
