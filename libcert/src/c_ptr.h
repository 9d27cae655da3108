// libcert/src/c_ptr.h (private) — owning pointers for objects of C libraries (style.md: RAII for
// every C object): the library's destroy function as the deleter.
//
//   using FcPatternPtr = libcert::CPtr<FcPattern, FcPatternDestroy>;
#pragma once

#include <memory>

namespace libcert {

template <auto Fn>
struct CDeleter {
  template <typename T>
  void operator()(T* p) const noexcept {
    Fn(p);
  }
};

template <typename T, auto Fn>
using CPtr = std::unique_ptr<T, CDeleter<Fn>>;

}  // namespace libcert
