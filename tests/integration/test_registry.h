// tests/integration/test_registry.h — the registry engine the store and certd tests run against
// (issue 11): SQLite by default; PostgreSQL when ctest runs the `pg.*` variant of a test, which
// sets CERTD_TEST_PG_STATE (the `postgres` fixture's server, tests/support/pg_server.sh).
//
//   const std::string loc = certdtest::new_registry(dir);       // file path or postgresql:// URI
//   auto store = certd::open_store(loc);
//   certdtest::RawDb(loc).exec("DELETE FROM licences");          // behind the store's back
//
// RawDb runs SQL that both dialects accept; tests that need dialect-specific SQL branch on
// on_postgres().
#pragma once

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "pg.h"
#include "sqlite.h"
#include "support/postgres.h"

namespace certdtest {

inline bool on_postgres() {
  const char* s = std::getenv("CERTD_TEST_PG_STATE");
  return s != nullptr && *s != '\0';
}

inline const char* engine_name() { return on_postgres() ? "postgresql" : "sqlite"; }

// A fresh, empty registry location: `dir/name` (SQLite) or a new database (PostgreSQL).
inline std::string new_registry(const std::filesystem::path& dir,
                                const std::string& name = "registry.db") {
  if (on_postgres()) return testsupport::postgres_new_database("t");
  return (dir / name).string();
}

class RawDb {
 public:
  explicit RawDb(const std::string& location) {
    if (location.rfind("postgresql://", 0) == 0) {
      db_ = certd::pg::Conn::open(location);
    } else {
      db_ = certd::sql::Db::open(location, 5000);
    }
  }
  void exec(const std::string& sqlq) {
    if (auto* p = std::get_if<certd::pg::Conn>(&db_)) {
      p->exec(sqlq);
    } else {
      std::get<certd::sql::Db>(db_).exec(sqlq);
    }
  }
  // The first column of the first row as an integer.
  std::int64_t int64(const std::string& sqlq) {
    const auto r = rows(sqlq, 1);
    return r.empty() || !r[0][0] ? 0 : std::stoll(*r[0][0]);
  }
  // Every row, its first `cols` columns as text (nullopt for NULL).
  std::vector<std::vector<std::optional<std::string> > > rows(const std::string& sqlq, int cols) {
    std::vector<std::vector<std::optional<std::string> > > out;
    if (auto* p = std::get_if<certd::pg::Conn>(&db_)) {
      const auto r = p->exec_params(sqlq);
      for (int i = 0; i < r.rows(); ++i) {
        auto& row = out.emplace_back();
        for (int c = 0; c < cols; ++c) row.push_back(r.opt_text(i, c));
      }
      return out;
    }
    auto st = std::get<certd::sql::Db>(db_).prepare(sqlq);
    while (st.step()) {
      auto& row = out.emplace_back();
      for (int c = 0; c < cols; ++c) row.push_back(st.opt_text(c));
    }
    return out;
  }
  // Binds $1/$2-style parameters (text, or bytes when blob) — the rewrite-an-audit-row test.
  void exec_bound(const std::string& pg_sql, const std::string& sqlite_sql,
                  const std::vector<std::pair<std::string, bool> >& params) {
    if (auto* p = std::get_if<certd::pg::Conn>(&db_)) {
      std::vector<certd::pg::Param> ps;
      for (const auto& [v, blob] : params) {
        ps.push_back(blob ? certd::pg::Param::blob(v) : certd::pg::Param(v));
      }
      p->exec_params(pg_sql, ps);
      return;
    }
    auto st = std::get<certd::sql::Db>(db_).prepare(sqlite_sql);
    int i = 1;
    for (const auto& [v, blob] : params) {
      if (blob) {
        st.bind_blob(i++, v);
      } else {
        st.bind(i++, v);
      }
    }
    st.run();
  }

 private:
  std::variant<std::monostate, certd::sql::Db, certd::pg::Conn> db_;
};

}  // namespace certdtest
