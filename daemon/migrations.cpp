#include <string>
#include <vector>

#include "sql_port.h"

namespace certd {

namespace {

// Every INT64 and BYTES token of `sql` replaced by the dialect's type names.
std::string typed(std::string sql, const SchemaTypes& t) {
  for (const auto& [token, type] : {std::pair{std::string("INT64"), std::string(t.int64)},
                                    std::pair{std::string("BYTES"), std::string(t.bytes)}}) {
    for (std::size_t at = sql.find(token); at != std::string::npos;
         at = sql.find(token, at + type.size())) {
      sql.replace(at, token.size(), type);
    }
  }
  return sql;
}

}  // namespace

std::vector<Migration> registry_migrations(const SchemaTypes& types) {
  // Never edit a migration that has shipped: add a new numbered one. Column sets follow
  // service.md "Registry" (the same schema on SQLite and PostgreSQL), plus the columns issuing
  // needs (serial, type_code, issuer_code, qr_text, seal_cert_sha256). Written once for both
  // engines: INT64 and BYTES stand for the dialect's 64-bit integer and byte-string types
  // (SQLite: INTEGER, BLOB — `idx INTEGER PRIMARY KEY` is the rowid; PostgreSQL: BIGINT, BYTEA);
  // the rest is portable SQL (partial indexes included). A migration that cannot be written
  // portably gets its dialects from SchemaTypes.
  const std::vector<Migration> m = {
      {1, "initial registry schema", R"sql(
CREATE TABLE principals(
  id TEXT PRIMARY KEY,
  department TEXT,
  key_prefix TEXT NOT NULL,
  key_sha256 TEXT NOT NULL UNIQUE,
  scopes TEXT NOT NULL,
  label TEXT NOT NULL DEFAULT '',
  created_at INT64 NOT NULL,
  revoked_at INT64
);
CREATE TABLE seal_keys(
  department TEXT NOT NULL,
  version INT64 NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('pending','active','retired','revoked')),
  key_ref TEXT,
  algorithm TEXT,
  cert_der BYTES,
  chain_der BYTES,
  cert_sha256 TEXT,
  not_before INT64,
  not_after INT64,
  created_at INT64 NOT NULL,
  activated_at INT64,
  retired_at INT64,
  revoked_at INT64,
  compromised_at INT64,
  reason TEXT,
  PRIMARY KEY (department, version)
);
-- One active version per department, enforced by the database itself (service.md).
CREATE UNIQUE INDEX seal_keys_one_active ON seal_keys(department) WHERE state = 'active';
-- Serial counters per (type, issuer): a serial is never derived from MAX() over rows that
-- might be deleted, so it is never reused.
CREATE TABLE serial_counters(
  type_code TEXT NOT NULL,
  issuer_code TEXT NOT NULL,
  last INT64 NOT NULL,
  PRIMARY KEY (type_code, issuer_code)
);
CREATE TABLE licences(
  id TEXT PRIMARY KEY,
  number TEXT NOT NULL,
  serial TEXT NOT NULL,
  type_code TEXT NOT NULL,
  issuer_code TEXT NOT NULL,
  department TEXT NOT NULL,
  template TEXT NOT NULL,
  template_version TEXT NOT NULL,
  data_json TEXT NOT NULL,
  pdf_sha256 TEXT NOT NULL,
  pdf BYTES NOT NULL,
  qr_text TEXT NOT NULL,
  seal_version TEXT NOT NULL,
  seal_cert_sha256 TEXT NOT NULL,
  status_index INT64 NOT NULL,
  issued_at INT64 NOT NULL,
  issued_by TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('valid','revoked')),
  revoked_at INT64,
  reason TEXT,
  audit_index INT64 NOT NULL UNIQUE,
  UNIQUE (type_code, issuer_code, serial),
  UNIQUE (department, status_index)
);
CREATE INDEX licences_by_department ON licences(department, audit_index);
CREATE TABLE idempotency(
  principal TEXT NOT NULL,
  key TEXT NOT NULL,
  request_sha256 TEXT NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('in_flight','done')),
  status_code INT64,
  response TEXT,
  licence_id TEXT,
  created_at INT64 NOT NULL,
  PRIMARY KEY (principal, key)
);
CREATE TABLE audit_log(
  idx INT64 PRIMARY KEY,
  ts INT64 NOT NULL,
  principal TEXT NOT NULL,
  action TEXT NOT NULL,
  object TEXT NOT NULL,
  request_id TEXT NOT NULL,
  details_json TEXT NOT NULL,
  leaf_hash BYTES NOT NULL
);
CREATE TABLE audit_checkpoints(
  tree_size INT64 PRIMARY KEY,
  root_hash BYTES NOT NULL,
  signed_note TEXT NOT NULL,
  created_at INT64 NOT NULL
);
)sql"},
      {2, "index licences by PDF hash (verification looks uploads up)",
       "CREATE INDEX licences_by_pdf_sha256 ON licences(pdf_sha256);"},
      // Verification looks a seal certificate up by its hash (PDF signer → key version). The
      // one-active-version rule is the partial UNIQUE index of migration 1 (PostgreSQL has the
      // same partial-index syntax).
      {3, "index seal key versions by certificate hash",
       "CREATE INDEX seal_keys_by_cert ON seal_keys(cert_sha256);"},
      // Issuance in two transactions with the render between them (issue 9, issuance.h): a
      // serial and status-list index are reserved here until the licence commits or the serial
      // is voided. Portable SQL (BIGINT is an INTEGER-affinity type name in SQLite), shared
      // verbatim with PostgreSQL. Rotations read MAX(issued_at) per department: licences no
      // longer commit in issue-time order.
      {4, "issuance reservations; index licences by department and issue time", R"sql(
CREATE TABLE reservations(
  type_code TEXT NOT NULL,
  issuer_code TEXT NOT NULL,
  serial TEXT NOT NULL,
  department TEXT NOT NULL,
  template TEXT NOT NULL,
  status_index BIGINT NOT NULL,
  seal_version BIGINT,
  principal TEXT NOT NULL,
  request_id TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  PRIMARY KEY (type_code, issuer_code, serial),
  UNIQUE (department, status_index)
);
CREATE INDEX licences_by_department_issued_at ON licences(department, issued_at);
)sql"},
      // The TSA's last token time (libcert/tsa.h: genTime never goes backwards, across every
      // instance on this registry). One row.
      {5, "time-stamping authority clock state", R"sql(
CREATE TABLE tsa_clock(id INT64 PRIMARY KEY CHECK (id = 1), last_time INT64 NOT NULL);
INSERT INTO tsa_clock(id, last_time) VALUES (1, 0);
)sql"},
      // A licence's stored renditions (store.h Rendition; issue 22: PDF and OFD; issue 19: later
      // versions after an archive renewal). Every existing licence becomes pdf version 1 without
      // copying its bytes: content NULL means "the bytes are licences.pdf" (allowed only for
      // pdf/1, which is what issuance stores there); later versions and other formats carry their
      // bytes. LENGTH of a BLOB/BYTEA is its size in bytes on both engines. Verification looks
      // uploads up by any stored version's hash (renditions_by_sha256).
      {6, "licence renditions: format x version, existing PDFs as pdf/1", R"sql(
CREATE TABLE renditions(
  licence_id TEXT NOT NULL REFERENCES licences(id),
  format TEXT NOT NULL CHECK (format IN ('pdf','ofd')),
  version INT64 NOT NULL CHECK (version >= 1),
  sha256 TEXT NOT NULL,
  size INT64 NOT NULL,
  content BYTES,
  created_at INT64 NOT NULL,
  reason TEXT NOT NULL,
  audit_index INT64 NOT NULL,
  PRIMARY KEY (licence_id, format, version),
  CHECK (content IS NOT NULL OR (format = 'pdf' AND version = 1))
);
CREATE INDEX renditions_by_sha256 ON renditions(sha256);
INSERT INTO renditions(licence_id, format, version, sha256, size, content, created_at, reason,
                       audit_index)
  SELECT id, 'pdf', 1, pdf_sha256, LENGTH(pdf), NULL, issued_at, 'issue', audit_index
  FROM licences;
)sql"},
      // The issuing CA's current CRL (docs/crl.md): one row per CA (its subjectKeyIdentifier),
      // shared by every instance so the CRL number only grows (RFC 5280 §5.2.3).
      {7, "CRLs of the issuing CA", R"sql(
CREATE TABLE crls(
  issuer TEXT PRIMARY KEY,
  number INT64 NOT NULL,
  this_update INT64 NOT NULL,
  next_update INT64 NOT NULL,
  content_key TEXT NOT NULL,
  der BYTES NOT NULL
);
)sql"},
  };
  std::vector<Migration> out;
  out.reserve(m.size());
  for (const auto& x : m) out.push_back({x.version, x.name, typed(x.sql, types)});
  return out;
}

}  // namespace certd
