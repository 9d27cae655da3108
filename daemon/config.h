// daemon/config.h — certd's configuration: one JSON file, then environment overrides.
//
//   certd::Config c = certd::Config::load("certd.json", certd::Config::process_env());
//
// The file is optional (every field has a default); unknown fields and wrong types are rejected
// with a message naming the field ("limits.json_body_bytes: expected a positive integer").
// Environment variables override the file: CERTD_LISTEN, CERTD_PORT, CERTD_STORE, CERTD_TEMPLATES,
// CERTD_KEYS, CERTD_WEB, CERTD_QR_HOST, CERTD_TLS_CERT, CERTD_TLS_KEY, CERTD_TLS_CLIENT_CA,
// CERTD_THREADS, CERTD_VERIFY_PER_MINUTE, CERTD_SEAL_KEY_DIR, CERTD_SEAL_REFUSE_DAYS,
// CERTD_SEAL_WARN_DAYS, CERTD_MAX_CLOCK_SKEW_S. Throws libcert::Error(kInvalidArgument) or (kIo) for an unreadable file.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "certd_paths.h"

namespace certd {

struct Limits {
  std::size_t json_body_bytes = 1u << 20;  // 1 MB (413 above)
  std::size_t pdf_body_bytes = 20u << 20;  // 20 MB for PDF uploads to /v1/verify
  std::size_t batch_items = 100;
  int read_timeout_s = 10;
  int write_timeout_s = 30;
  int verify_per_minute = 60;  // per client address, public routes
  int verify_burst = 20;
  int tsa_per_minute = 600;  // POST /v1/tsa, per principal (tsa_service.h)
  int tsa_burst = 100;
  // Hostile clients (issue 10). Request line + headers above header_bytes: 431. A body must
  // arrive completely within body_timeout_s of its first byte (slow bodies: 408, connection
  // closed). More than auth_failures_per_minute failed authentications (401) from one address
  // lock that address out of authenticated requests (429 + Retry-After) for auth_lockout_s; each
  // lock-out is an audit-log row.
  std::size_t header_bytes = 32u << 10;
  int body_timeout_s = 30;
  int auth_failures_per_minute = 10;
  int auth_lockout_s = 60;
  // Issue 17: failed authentications are counted per presented key as well as per address (a
  // valid key is never locked out for others' failures), and written to the audit log as one
  // aggregated auth.failure row per address and interval of this many seconds.
  int auth_failure_audit_interval_s = 60;
  // Connections (issue 17, server.cpp). A request head (request line + header fields) must arrive
  // complete within header_timeout_s of the connection's start, a total deadline, not per byte;
  // a kept-alive connection with no next request is closed after keepalive_idle_s. Per client
  // address at most connections_per_address connections, at most max_connections in all; past
  // either the connection is answered 503 + Retry-After and closed. On SIGTERM in-flight requests
  // get drain_timeout_s to finish.
  int header_timeout_s = 10;
  int keepalive_idle_s = 5;
  int drain_timeout_s = 10;
  std::size_t max_connections = 512;
  std::size_t connections_per_address = 64;
};

// An IP address as 16 bytes (IPv4 as IPv4-mapped IPv6, RFC 4291 §2.5.5.2), and a network of
// them: `trusted_proxies` entries ("10.0.0.0/8", "::1", "192.0.2.7").
using IpBytes = std::array<std::uint8_t, 16>;
std::optional<IpBytes> parse_ip(const std::string& text);
struct IpRange {
  IpBytes net{};
  int prefix = 128;
  static std::optional<IpRange> parse(const std::string& text);
  [[nodiscard]] bool contains(const IpBytes& a) const;
};

struct Config {
  std::string listen = "127.0.0.1";  // loopback unless told otherwise
  int port = 8080;                   // 0: any free port (see --port-file)
  std::string tls_cert, tls_key, tls_client_ca;
  // Paths: the FHS defaults of certd_paths.h (issue 18; docs/operations.md "Files"), never the
  // working directory or the source tree.
  std::string store = paths::kStore;          // /var/lib/certd/registry.db
  std::string templates = paths::kTemplates;  // /usr/share/certd/templates
  std::string keys = paths::kKeys;            // /etc/certd/keys
  std::string web = paths::kWeb;  // the inspector's page (static files; empty: not served)
  std::string qr_host = "LIC.ALI.EXAMPLE";
  int threads = 8;
  std::size_t max_queue = 256;
  std::int64_t idempotency_lease_s = 120;
  std::int64_t status_list_size = 1 << 20;
  // The clock skew tolerated between this host and the registry's record of time (seconds): a
  // seal is refused (503) when the clock reads earlier than the active key version's activation
  // or its certificate's notBefore, or more than this earlier than the department's last
  // issuance, and /readyz is unready meanwhile (issuance_service.h). A signing time before the
  // version's activation or notBefore is INVALID for every verifier (the version's usage window,
  // docs/key-lifecycle-and-audit.md), so such a licence must never be sealed.
  std::int64_t max_clock_skew_s = 300;
  // Seal key versions (issue 7): new private keys go to seal_key_dir/<dept>/ (mode 0600); issuing
  // is refused when the active certificate expires within seal_refuse_days, and a warning (log,
  // certd_seal_certificate_days_left) starts seal_warn_days before.
  std::string seal_key_dir = paths::kRuntimeKeys;  // /var/lib/certd/keys
  int seal_refuse_days = 7;
  int seal_warn_days = 30;
  // PKCS#11 (docs/pkcs11.md): seal.token — a token URI in which new seal key versions are
  // generated ("" = PEM files in seal_key_dir); bundle_key — the trust-bundle signer as a token
  // key URI ("" = <keys>/bundle/bundle.key). audit.key may be a token key URI as well. Each role
  // in its own token (slot) with its own PIN (trust.md).
  std::string seal_token;
  std::string bundle_key;
  // The issuing CA (trust.md "Roles"; docs/crl.md): "ca": {"cert", "key", "crl_period_s"}. It
  // certifies new seal versions and signs the CRL of GET /v1/crl, renewed every crl_period_s
  // (its nextUpdate) and whenever a seal key version is revoked. "" = <keys>/ca/issuing-ca.crt
  // and .key. The root's key is never read by certd.
  std::string issuing_ca_cert;
  std::string issuing_ca_key;
  std::int64_t crl_period_s = 86400;
  // Audit checkpoints: signed with this Ed25519 key ("" = <keys>/audit/audit.key) under this
  // origin ("" = the lower-cased qr_host + "/audit").
  std::string audit_key;
  std::string audit_origin;
  // service.md: a checkpoint every N entries or T seconds (whichever comes first, and only when
  // the log has grown): signed by a background thread of certd (audit.h AuditCheckpointer).
  std::int64_t audit_checkpoint_every_entries = 1000;
  std::int64_t audit_checkpoint_every_seconds = 300;
  Limits limits;
  // PAdES level of issued licences (docs/signing.md "Levels"; docs/operations.md): the file's
  // "pades": {"level": "B-LT", "templates": {"<template id>": "B-LTA"}, "departments":
  // {"<department id>": "B-T"}} — a template's entry wins over its department's, which wins over
  // "level". B-T and above need certd's TSA key; without it licences are sealed B-B.
  std::string pades_level = "B-LT";
  std::map<std::string, std::string> pades_template_levels, pades_department_levels;
  [[nodiscard]] const std::string& pades_level_for(const std::string& template_id,
                                                   const std::string& department) const;
  // Reverse proxies whose X-Forwarded-For is believed (addresses or CIDR networks): the client
  // of a request from one of them is the right-most X-Forwarded-For entry not itself a trusted
  // proxy (RFC 7239 §5.2 on the same idea). Everything else is keyed on the peer address.
  std::vector<std::string> trusted_proxies;
  std::vector<IpRange> trusted_proxy_ranges;  // parsed from trusted_proxies by load()

  using Env = std::function<std::optional<std::string>(const char*)>;
  static Env process_env();
  // `path` empty: defaults + environment only.
  static Config load(const std::string& path, const Env& env);
};

}  // namespace certd
