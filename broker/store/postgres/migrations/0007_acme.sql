-- ACME (RFC 8555) objects: EAB keys, accounts, orders, authorizations, the nonce key.
CREATE TABLE acme_objects (
  id TEXT COLLATE "C" PRIMARY KEY,
  kind TEXT NOT NULL,
  account TEXT COLLATE "C" NOT NULL DEFAULT '',
  ticket TEXT NOT NULL DEFAULT '',
  status TEXT NOT NULL,
  body TEXT NOT NULL,
  updated_at BIGINT NOT NULL
);
CREATE INDEX acme_objects_kind_account ON acme_objects (kind, account, id);
