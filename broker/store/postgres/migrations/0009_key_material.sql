-- Keys shared through the store (keystore/): each secret sealed under its own data key, the data
-- key wrapped by the KEK. Written once per version; never updated, so replicas that race to
-- create or rotate a key insert with ON CONFLICT DO NOTHING and read the winner back.
CREATE TABLE key_material (
  key_id TEXT COLLATE "C" PRIMARY KEY,
  purpose TEXT COLLATE "C" NOT NULL,
  algorithm TEXT NOT NULL,
  version BIGINT NOT NULL,
  public_data TEXT NOT NULL,
  wrapped_dek TEXT NOT NULL,
  ciphertext TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  active_from BIGINT NOT NULL,
  UNIQUE (purpose, version)
);
