-- Keys shared through the store (keystore/): each secret sealed under its own data key, the data
-- key wrapped by the KEK. Written once per version; never updated.
CREATE TABLE key_material (
  key_id TEXT PRIMARY KEY,
  purpose TEXT NOT NULL,
  algorithm TEXT NOT NULL,
  version INTEGER NOT NULL,
  public_data TEXT NOT NULL,
  wrapped_dek TEXT NOT NULL,
  ciphertext TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  active_from INTEGER NOT NULL,
  UNIQUE (purpose, version)
);
