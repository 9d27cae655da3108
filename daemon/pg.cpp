#include "pg.h"

#include <climits>
#include <cstring>

namespace certd::pg {

namespace {

struct FreeMem {
  void operator()(unsigned char* p) const noexcept { PQfreemem(p); }
};

void ignore_notice(void* /*arg*/, const PGresult* /*res*/) {}

}  // namespace

RegistryError::Code map_sqlstate(const char* state) {
  using C = RegistryError::Code;
  if (state == nullptr) return C::kUnavailable;  // no answer from the server at all
  const std::string_view s(state);
  const std::string_view cls = s.substr(0, 2);
  if (cls == "23") return C::kConflict;  // integrity constraint violation
  if (s == "40001" || s == "40P01" || s == "55P03" || s == "57014") return C::kBusy;
  if (cls == "08" || cls == "53" || s == "57P01" || s == "57P02" || s == "57P03" || s == "25006") {
    return C::kUnavailable;  // connection lost, disk full, shutting down, read-only server
  }
  if (s == "XX001" || s == "XX002") return C::kCorrupt;
  return C::kInternal;
}

void fail(const PGresult* r, PGconn* c, std::string_view what) {
  std::string msg(what);
  msg += ": ";
  const char* state = r != nullptr ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : nullptr;
  const char* text = r != nullptr ? PQresultErrorMessage(r) : nullptr;
  if (text == nullptr || *text == '\0') text = c != nullptr ? PQerrorMessage(c) : "no connection";
  msg += text;
  while (!msg.empty() && (msg.back() == '\n' || msg.back() == ' ')) msg.pop_back();
  if (state != nullptr) msg += std::string(" [SQLSTATE ") + state + "]";
  // A result without SQLSTATE is a client-side or connection failure: unavailable.
  RegistryError::Code code = map_sqlstate(state);
  if (state != nullptr && c != nullptr && PQstatus(c) != CONNECTION_OK) {
    code = RegistryError::Code::kUnavailable;
  }
  throw RegistryError(code, msg);
}

void Conn::fail_here(const PGresult* r, std::string_view what) {
  try {
    fail(r, c_.get(), what);
  } catch (const RegistryError& e) {
    if (e.code() == RegistryError::Code::kUnavailable ||
        e.code() == RegistryError::Code::kCorrupt) {
      poisoned_ = true;
    }
    throw;
  }
}

std::int64_t Result::affected() const {
  const char* n = PQcmdTuples(r_.get());
  return n == nullptr || *n == '\0' ? 0 : std::stoll(n);
}

std::string Result::text(int row, int col) const {
  const char* v = PQgetvalue(r_.get(), row, col);
  return std::string(v, static_cast<std::size_t>(PQgetlength(r_.get(), row, col)));
}

std::optional<std::string> Result::opt_text(int row, int col) const {
  if (is_null(row, col)) return std::nullopt;
  return text(row, col);
}

std::string Result::blob(int row, int col) const {
  if (is_null(row, col)) return {};
  std::size_t n = 0;
  std::unique_ptr<unsigned char, FreeMem> p(
      PQunescapeBytea(reinterpret_cast<const unsigned char*>(PQgetvalue(r_.get(), row, col)), &n));
  if (!p) throw RegistryError(RegistryError::Code::kUnavailable, "bytea decode: out of memory");
  return std::string(reinterpret_cast<const char*>(p.get()), n);
}

std::int64_t Result::int64(int row, int col) const {
  if (is_null(row, col)) return 0;
  return std::stoll(PQgetvalue(r_.get(), row, col));
}

std::optional<std::int64_t> Result::opt_int64(int row, int col) const {
  if (is_null(row, col)) return std::nullopt;
  return int64(row, col);
}

Conn Conn::open(const std::string& conninfo) {
  PGconn* raw = PQconnectdb(conninfo.c_str());
  if (raw == nullptr) {
    throw RegistryError(RegistryError::Code::kUnavailable, "postgresql: out of memory");
  }
  Conn c(raw);
  if (PQstatus(raw) != CONNECTION_OK) {
    std::string msg = PQerrorMessage(raw);
    while (!msg.empty() && (msg.back() == '\n' || msg.back() == ' ')) msg.pop_back();
    // Unreachable or starting server: unavailable, so that readiness probes report "not ready".
    throw RegistryError(RegistryError::Code::kUnavailable, "postgresql: cannot connect: " + msg);
  }
  // Server NOTICEs ("relation already exists, skipping") are not errors; keep stderr clean.
  PQsetNoticeReceiver(raw, ignore_notice, nullptr);
  // Integer timestamps and text in UTF-8 whatever the server's defaults are.
  c.exec("SET client_encoding = 'UTF8'; SET TIME ZONE 'UTC'");
  return c;
}

void Conn::exec(const std::string& sql) {
  Result r(PQexec(c_.get(), sql.c_str()));
  const auto st = PQresultStatus(r.raw_for_check());
  if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) fail_here(r.raw_for_check(), "exec");
}

Result Conn::exec_params(const std::string& sql, const std::vector<Param>& params) {
  std::vector<const char*> values(params.size());
  std::vector<int> lengths(params.size()), formats(params.size());
  for (std::size_t i = 0; i < params.size(); ++i) {
    const Param& p = params[i];
    if (p.value.size() > static_cast<std::size_t>(INT_MAX)) {
      throw RegistryError(RegistryError::Code::kInternal, "value too large for the registry");
    }
    values[i] = p.kind == Param::kNull ? nullptr : p.value.data();
    lengths[i] = static_cast<int>(p.value.size());
    formats[i] = p.kind == Param::kBlob ? 1 : 0;
  }
  // Text parameters must be NUL-terminated for libpq: std::string's data() is.
  Result r(PQexecParams(c_.get(), sql.c_str(), static_cast<int>(params.size()), nullptr,
                        values.data(), lengths.data(), formats.data(), 0));
  const auto st = PQresultStatus(r.raw_for_check());
  if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) fail_here(r.raw_for_check(), sql);
  return r;
}

Tx::Tx(Conn& c) : c_(c) { c_.exec("BEGIN"); }

Tx::~Tx() {
  if (done_) return;
  try {
    c_.exec("ROLLBACK");
  } catch (...) {  // NOLINT(bugprone-empty-catch): a broken connection rolls back by itself
  }
}

void Tx::commit() {
  c_.exec("COMMIT");
  done_ = true;
}

}  // namespace certd::pg
