#include "sql_port.h"

#include <charconv>

namespace certd::port {

std::string Value::text() const {
  switch (kind_) {
    case kNull:
      return {};
    case kInt:
      return std::to_string(i_);
    case kText:
    case kBlob:
      return s_;
  }
  return {};
}

std::int64_t Value::int64() const {
  if (kind_ == kInt) return i_;
  if (kind_ == kNull) return 0;
  std::int64_t v = 0;
  const auto [p, ec] = std::from_chars(s_.data(), s_.data() + s_.size(), v);
  if (ec != std::errc() || p != s_.data() + s_.size()) {
    throw RegistryError(RegistryError::Code::kCorrupt,
                        "registry: an integer column holds '" + s_.substr(0, 32) + "'");
  }
  return v;
}

const Value& Row::at(std::size_t c) const {
  if (c >= cols_.size()) {
    throw RegistryError(RegistryError::Code::kInternal,
                        "registry: column " + std::to_string(c) + " of a " +
                            std::to_string(cols_.size()) + "-column row");
  }
  return cols_[c];
}

const Row& Result::first() const {
  if (rows.empty()) throw RegistryError(RegistryError::Code::kInternal, "registry: no row");
  return rows.front();
}

}  // namespace certd::port
