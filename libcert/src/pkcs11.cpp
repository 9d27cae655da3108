// pkcs11.cpp — token keys through the PKCS#11 v2.40 C API (libcert/pkcs11.h).
//
// Structure: a Module per .so (dlopen'd once, C_Initialize'd with CKF_OS_LOCKING_OK so the module
// may be called from many threads, §5.4), and a Key::State per key URI holding its slot, a pool
// of logged-in sessions and the key's object handle. Every call into the module holds the
// module's shared lock; re-initialising the module (C_Finalize + C_Initialize, the only way to
// make some modules — SoftHSM2 among them — see a token that came back) takes it exclusively and
// bumps the module's generation, which makes every State forget its handles.
#include "libcert/pkcs11.h"

#include <dlfcn.h>
#include <openssl/core_names.h>
#include <openssl/params.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <p11-kit/pkcs11.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <map>
#include <mutex>
#include <shared_mutex>

#include "cose.h"
#include "ossl.h"

namespace libcert::pkcs11 {

namespace {

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

std::string rv_name(CK_RV rv) {
  switch (rv) {
    case CKR_GENERAL_ERROR:
      return "CKR_GENERAL_ERROR";
    case CKR_DEVICE_ERROR:
      return "CKR_DEVICE_ERROR";
    case CKR_DEVICE_REMOVED:
      return "CKR_DEVICE_REMOVED";
    case CKR_TOKEN_NOT_PRESENT:
      return "CKR_TOKEN_NOT_PRESENT";
    case CKR_TOKEN_NOT_RECOGNIZED:
      return "CKR_TOKEN_NOT_RECOGNIZED";
    case CKR_SESSION_HANDLE_INVALID:
      return "CKR_SESSION_HANDLE_INVALID";
    case CKR_SESSION_CLOSED:
      return "CKR_SESSION_CLOSED";
    case CKR_SLOT_ID_INVALID:
      return "CKR_SLOT_ID_INVALID";
    case CKR_USER_NOT_LOGGED_IN:
      return "CKR_USER_NOT_LOGGED_IN";
    case CKR_PIN_INCORRECT:
      return "CKR_PIN_INCORRECT";
    case CKR_PIN_LOCKED:
      return "CKR_PIN_LOCKED";
    case CKR_PIN_LEN_RANGE:
      return "CKR_PIN_LEN_RANGE";
    case CKR_OBJECT_HANDLE_INVALID:
      return "CKR_OBJECT_HANDLE_INVALID";
    case CKR_KEY_HANDLE_INVALID:
      return "CKR_KEY_HANDLE_INVALID";
    case CKR_MECHANISM_INVALID:
      return "CKR_MECHANISM_INVALID";
    case CKR_KEY_TYPE_INCONSISTENT:
      return "CKR_KEY_TYPE_INCONSISTENT";
    case CKR_ATTRIBUTE_TYPE_INVALID:
      return "CKR_ATTRIBUTE_TYPE_INVALID";
    case CKR_ATTRIBUTE_SENSITIVE:
      return "CKR_ATTRIBUTE_SENSITIVE";
    case CKR_CRYPTOKI_NOT_INITIALIZED:
      return "CKR_CRYPTOKI_NOT_INITIALIZED";
    default:
      break;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, "CKR 0x%lx", static_cast<unsigned long>(rv));
  return buf;
}

// Return values after which the session (and maybe the slot) is gone: §5.1.6 "session handle
// invalid / closed", the token removed or failing, or a login lost with the last session.
bool session_lost(CK_RV rv) {
  return rv == CKR_SESSION_HANDLE_INVALID || rv == CKR_SESSION_CLOSED || rv == CKR_DEVICE_REMOVED ||
         rv == CKR_TOKEN_NOT_PRESENT || rv == CKR_DEVICE_ERROR || rv == CKR_GENERAL_ERROR ||
         rv == CKR_TOKEN_NOT_RECOGNIZED || rv == CKR_SLOT_ID_INVALID ||
         rv == CKR_USER_NOT_LOGGED_IN || rv == CKR_CRYPTOKI_NOT_INITIALIZED;
}
bool token_gone(CK_RV rv) {
  return rv == CKR_DEVICE_REMOVED || rv == CKR_TOKEN_NOT_PRESENT || rv == CKR_SLOT_ID_INVALID ||
         rv == CKR_TOKEN_NOT_RECOGNIZED;
}

// A space-padded CK_UTF8CHAR field (§3.2) as a string.
template <std::size_t N>
std::string field(const CK_UTF8CHAR (&f)[N]) {
  std::string s(reinterpret_cast<const char*>(f), N);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\0')) s.pop_back();
  return s;
}

// ---- Module ------------------------------------------------------------------------------------

struct Module {
  std::string path;
  void* dl = nullptr;
  CK_FUNCTION_LIST* f = nullptr;
  std::shared_mutex mu;  // shared: any call; exclusive: re-initialisation
  std::atomic<std::uint64_t> generation{1};
  std::mutex reinit_mu;
  std::int64_t last_reinit_ms = 0;  // GUARDED_BY(reinit_mu)

  // C_Finalize + C_Initialize, at most once per `interval_ms` (callers that arrive later return
  // at once: the module was just re-read). `seen` is the generation the caller worked with.
  void reinitialise(std::uint64_t seen, std::int64_t interval_ms) {
    std::lock_guard r(reinit_mu);
    if (generation.load() != seen) return;  // someone else did it meanwhile
    if (now_ms() - last_reinit_ms < interval_ms) return;
    std::unique_lock w(mu);
    (void)f->C_Finalize(nullptr);
    CK_C_INITIALIZE_ARGS args{};
    args.flags = CKF_OS_LOCKING_OK;
    (void)f->C_Initialize(&args);
    generation.fetch_add(1);
    last_reinit_ms = now_ms();
  }
};

std::mutex g_modules_mu;
std::map<std::string, std::shared_ptr<Module>>& modules() {
  // Modules stay loaded for the life of the process: unloading a PKCS#11 module that other
  // threads may still call into is never safe, and there are a handful at most.
  static auto* m = new std::map<std::string, std::shared_ptr<Module>>();
  return *m;
}

std::string resolve_module(const Uri& uri, const Options& opt) {
  if (uri.module_path) return *uri.module_path;
  if (uri.module_name) {
    // RFC 7512 §2.4: module-name is the library name without path or suffix; looked up in the
    // directories p11-kit and Debian install PKCS#11 modules to.
    const std::string& n = *uri.module_name;
    if (n.find('/') != std::string::npos)
      throw Error(ErrorCode::kInvalidArgument, "pkcs11 URI: module-name must not contain '/'");
    for (const char* dir : {"/usr/lib/x86_64-linux-gnu/pkcs11", "/usr/lib/aarch64-linux-gnu/pkcs11",
                            "/usr/lib/pkcs11", "/usr/lib/softhsm", "/usr/lib/x86_64-linux-gnu",
                            "/usr/lib/aarch64-linux-gnu"}) {
      for (const std::string& file : {n + ".so", "lib" + n + ".so"}) {
        const std::string p = std::string(dir) + "/" + file;
        if (::access(p.c_str(), R_OK) == 0) return p;
      }
    }
    throw TokenError(Fault::kModule, "module-name " + n + ": no such PKCS#11 module installed");
  }
  if (!opt.default_module.empty()) return opt.default_module;
  throw Error(
      ErrorCode::kInvalidArgument,
      "pkcs11 URI " + uri.str() + ": names no module (add ?module-path=/path/to/module.so)");
}

std::shared_ptr<Module> load_module(const std::string& path) {
  std::lock_guard l(g_modules_mu);
  auto& m = modules();
  if (auto it = m.find(path); it != m.end()) return it->second;
  auto mod = std::make_shared<Module>();
  mod->path = path;
  mod->dl = ::dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (mod->dl == nullptr) {
    const char* e = ::dlerror();
    throw TokenError(Fault::kModule, path + ": cannot load (" + std::string(e ? e : "?") + ")");
  }
  auto get = reinterpret_cast<CK_C_GetFunctionList>(::dlsym(mod->dl, "C_GetFunctionList"));
  if (get == nullptr || get(&mod->f) != CKR_OK || mod->f == nullptr) {
    throw TokenError(Fault::kModule, path + ": not a PKCS#11 module (no C_GetFunctionList)");
  }
  CK_C_INITIALIZE_ARGS args{};
  args.flags = CKF_OS_LOCKING_OK;  // §5.4: the module uses the OS's locks; we call it from threads
  const CK_RV rv = mod->f->C_Initialize(&args);
  if (rv != CKR_OK && rv != CKR_CRYPTOKI_ALREADY_INITIALIZED) {
    throw TokenError(Fault::kModule, path + ": C_Initialize failed (" + rv_name(rv) + ")");
  }
  m[path] = mod;
  return mod;
}

std::string sha256_of(std::string_view s) { return cose::sha256(s); }

// DER of the P-256 OID (RFC 5480 §2.1.1.1 namedCurve secp256r1 1.2.840.10045.3.1.7).
const std::string kP256Params("\x06\x08\x2a\x86\x48\xce\x3d\x03\x01\x07", 10);
// Ed25519 EC_PARAMS: PKCS#11 v3.0 §2.3.5 allows the printable string "edwards25519" or the OID
// 1.3.101.112; SoftHSM 2.6 and OpenSC write the printable string.
const std::string kEd25519Printable(
    "\x13\x0c"
    "edwards25519",
    14);
const std::string kEd25519Oid("\x06\x03\x2b\x65\x70", 5);

// CKA_EC_POINT is a DER OCTET STRING holding the point (§2.3.3); a few tokens return the bare
// point. Returns the bare point.
std::string unwrap_point(const std::string& v, std::size_t bare_len) {
  if (v.size() == bare_len) return v;
  if (v.size() >= 2 && static_cast<unsigned char>(v[0]) == 0x04) {
    std::size_t len = static_cast<unsigned char>(v[1]), off = 2;
    if (len == 0x81 && v.size() >= 3) len = static_cast<unsigned char>(v[2]), off = 3;
    if (off + len == v.size() && len == bare_len) return v.substr(off);
  }
  throw TokenError(Fault::kDevice, "the token's CKA_EC_POINT is not a point of the expected size");
}

std::string spki_of(KeyType t, const std::string& point) {
  ossl::PKey pk;
  if (t == KeyType::kEd25519) {
    const std::string raw = unwrap_point(point, 32);
    pk.reset(EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr,
                                         reinterpret_cast<const unsigned char*>(raw.data()), 32));
  } else {
    const std::string raw = unwrap_point(point, 65);
    ossl::PKeyCtx ctx(EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr));
    char group[] = "prime256v1";
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string("group", group, 0),
        OSSL_PARAM_construct_octet_string("pub", const_cast<char*>(raw.data()), raw.size()),
        OSSL_PARAM_construct_end()};
    EVP_PKEY* out = nullptr;
    ossl::check(ctx && EVP_PKEY_fromdata_init(ctx.get()) == 1 &&
                    EVP_PKEY_fromdata(ctx.get(), &out, EVP_PKEY_PUBLIC_KEY, params) == 1,
                "pkcs11: the token's EC public key is not a P-256 point");
    pk.reset(out);
  }
  ossl::check(pk != nullptr, "pkcs11: the token's public key");
  unsigned char* der = nullptr;
  const int n = i2d_PUBKEY(pk.get(), &der);
  ossl::check(n > 0, "pkcs11: encoding the public key");
  std::string s(reinterpret_cast<char*>(der), static_cast<std::size_t>(n));
  OPENSSL_free(der);
  return s;
}

}  // namespace

// ---- Key::State --------------------------------------------------------------------------------

struct Key::State {
  Uri uri;
  Options opt;
  std::string module_path;
  std::shared_ptr<Module> mod;

  std::mutex mu;
  std::condition_variable cv;
  // All GUARDED_BY(mu); valid for module generation `gen`.
  std::uint64_t gen = 0;
  std::optional<CK_SLOT_ID> slot;
  std::vector<CK_SESSION_HANDLE> idle;
  std::size_t open = 0;
  std::optional<CK_OBJECT_HANDLE> key;
  std::optional<KeyType> type;
  std::string spki;
  std::string refused_pin;  // SHA-256 of a PIN the token refused: never tried again (lock-out)

  ~State() {
    if (!mod) return;
    std::shared_lock r(mod->mu);
    if (gen != mod->generation.load()) return;
    // Closing the last session of the application on a token logs it out (§5.6 C_CloseSession).
    for (CK_SESSION_HANDLE s : idle) (void)mod->f->C_CloseSession(s);
  }
  State(const State&) = delete;
  State& operator=(const State&) = delete;
  State(Uri u, Options o) : uri(std::move(u)), opt(std::move(o)) {
    if (!opt.env) opt.env = process_env();
    if (opt.max_sessions == 0) opt.max_sessions = 1;
    module_path = resolve_module(uri, opt);
  }

  std::string who() const {
    Uri shown = uri;  // the URI without the query: no paths of the host in client-facing text
    shown.module_path.reset();
    shown.pin_source.reset();
    return shown.str();
  }

  // Forget every handle of an older module generation (they are meaningless now).
  void sync_generation_locked() {
    const std::uint64_t g = mod->generation.load();
    if (g == gen) return;
    gen = g;
    slot.reset();
    idle.clear();
    open = 0;
    key.reset();
  }

  // Drops every session of this pool (after a session-level failure): the next lease opens new
  // ones and logs in again.
  void reset_locked(bool forget_slot) {
    for (CK_SESSION_HANDLE s : idle) (void)mod->f->C_CloseSession(s);
    open -= idle.size();
    idle.clear();
    key.reset();
    if (forget_slot) slot.reset();
    cv.notify_all();
  }

  bool token_matches(const CK_TOKEN_INFO& t) const {
    if (uri.token && field(t.label) != *uri.token) return false;
    if (uri.manufacturer && field(t.manufacturerID) != *uri.manufacturer) return false;
    if (uri.model && field(t.model) != *uri.model) return false;
    if (uri.serial && field(t.serialNumber) != *uri.serial) return false;
    return true;
  }

  std::optional<CK_SLOT_ID> find_slot_locked() {
    CK_ULONG n = 0;
    CK_RV rv = mod->f->C_GetSlotList(CK_TRUE, nullptr, &n);
    if (rv != CKR_OK) throw TokenError(Fault::kDevice, who() + ": C_GetSlotList " + rv_name(rv));
    std::vector<CK_SLOT_ID> ids(n);
    rv = mod->f->C_GetSlotList(CK_TRUE, ids.data(), &n);
    if (rv != CKR_OK) throw TokenError(Fault::kDevice, who() + ": C_GetSlotList " + rv_name(rv));
    ids.resize(n);
    std::optional<CK_SLOT_ID> found;
    for (CK_SLOT_ID id : ids) {
      if (uri.slot_id && *uri.slot_id != id) continue;
      CK_SLOT_INFO si{};
      if (mod->f->C_GetSlotInfo(id, &si) != CKR_OK) continue;
      if (uri.slot_description && field(si.slotDescription) != *uri.slot_description) continue;
      if (uri.slot_manufacturer && field(si.manufacturerID) != *uri.slot_manufacturer) continue;
      CK_TOKEN_INFO ti{};
      if (mod->f->C_GetTokenInfo(id, &ti) != CKR_OK) continue;
      if (!token_matches(ti)) continue;
      if (found) {
        throw Error(ErrorCode::kInvalidArgument,
                    who() + ": more than one token matches; add serial= to the URI");
      }
      found = id;
    }
    return found;
  }

  // Opens and logs in one session on `slot` (mu held). Throws TokenError.
  CK_SESSION_HANDLE open_session_locked() {
    CK_SESSION_HANDLE s = CK_INVALID_HANDLE;
    // CKF_RW_SESSION: key generation creates token objects (§5.6, C_OpenSession).
    CK_RV rv =
        mod->f->C_OpenSession(*slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, nullptr, nullptr, &s);
    if (rv != CKR_OK) {
      slot.reset();
      throw TokenError(token_gone(rv) ? Fault::kTokenAbsent : Fault::kDevice,
                       who() + ": C_OpenSession " + rv_name(rv));
    }
    if (!uri.pin_source) {
      (void)mod->f->C_CloseSession(s);
      throw Error(ErrorCode::kInvalidArgument,
                  who() + ": no pin-source in the URI (file:, env: or credential:)");
    }
    std::string pin;
    try {
      pin = read_pin(*uri.pin_source, opt.env);
    } catch (...) {
      (void)mod->f->C_CloseSession(s);
      throw;
    }
    const std::string pin_hash = sha256_of(pin);
    if (!refused_pin.empty() && pin_hash == refused_pin) {
      // Never present a PIN the token already refused: tokens lock the PIN after a few
      // failures (CKF_USER_PIN_LOCKED), and certd would retry on every request.
      (void)mod->f->C_CloseSession(s);
      throw TokenError(Fault::kPinIncorrect,
                       who() +
                           ": the token refused this PIN before; not tried again until the "
                           "pin-source holds another one");
    }
    rv = mod->f->C_Login(s, CKU_USER, reinterpret_cast<CK_UTF8CHAR_PTR>(pin.data()),
                         static_cast<CK_ULONG>(pin.size()));
    std::fill(pin.begin(), pin.end(), '\0');
    if (rv == CKR_OK || rv == CKR_USER_ALREADY_LOGGED_IN) {
      refused_pin.clear();
      ++open;
      return s;
    }
    (void)mod->f->C_CloseSession(s);
    if (rv == CKR_PIN_INCORRECT || rv == CKR_PIN_LEN_RANGE) {
      refused_pin = pin_hash;
      throw TokenError(Fault::kPinIncorrect, who() + ": C_Login " + rv_name(rv));
    }
    if (rv == CKR_PIN_LOCKED)
      throw TokenError(Fault::kPinLocked,
                       who() + ": the user PIN is locked (C_Login CKR_PIN_LOCKED)");
    if (session_lost(rv)) slot.reset();
    throw TokenError(token_gone(rv) ? Fault::kTokenAbsent : Fault::kDevice,
                     who() + ": C_Login " + rv_name(rv));
  }

  // A leased session: the module's shared lock plus one session of the pool.
  struct Lease {
    State* st;
    std::shared_lock<std::shared_mutex> mod_lock;
    CK_SESSION_HANDLE s = CK_INVALID_HANDLE;
    std::uint64_t gen = 0;
    bool bad = false;
    ~Lease() {
      if (s == CK_INVALID_HANDLE) return;
      std::lock_guard l(st->mu);
      if (gen == st->gen) {
        if (bad) {
          (void)st->mod->f->C_CloseSession(s);
          --st->open;
        } else {
          st->idle.push_back(s);
        }
      }
      st->cv.notify_one();
    }
  };

  std::unique_ptr<Lease> lease() {
    if (!mod) mod = load_module(module_path);
    for (int attempt = 0;; ++attempt) {
      std::unique_ptr<Lease> l(new Lease{this, std::shared_lock(mod->mu)});
      std::unique_lock g(mu);
      sync_generation_locked();
      if (!slot) slot = find_slot_locked();
      if (!slot) {
        // Some modules (SoftHSM2) only learn about tokens in C_Initialize: re-initialise once,
        // rate-limited, then look again.
        const std::uint64_t seen = gen;
        g.unlock();
        l.reset();
        if (attempt == 0) {
          mod->reinitialise(seen, opt.retry_interval_ms);
          continue;
        }
        throw TokenError(Fault::kTokenAbsent, who() + ": no such token in any slot");
      }
      l->gen = gen;
      cv.wait(g, [&] { return !idle.empty() || open < opt.max_sessions || gen != l->gen; });
      if (gen != l->gen) continue;
      if (!idle.empty()) {
        l->s = idle.back();
        idle.pop_back();
      } else {
        l->s = open_session_locked();
      }
      return l;
    }
  }

  CK_OBJECT_HANDLE find_key_locked(CK_SESSION_HANDLE s) {
    if (key) return *key;
    if (!uri.id && !uri.object) {
      throw Error(ErrorCode::kInvalidArgument, who() + ": names no key (object= or id=)");
    }
    if (uri.type && *uri.type != "private") {
      throw Error(ErrorCode::kInvalidArgument, who() + ": type must be private for a signing key");
    }
    CK_OBJECT_CLASS cls = CKO_PRIVATE_KEY;
    std::vector<CK_ATTRIBUTE> tmpl{{CKA_CLASS, &cls, sizeof cls}};
    if (uri.id) tmpl.push_back({CKA_ID, const_cast<char*>(uri.id->data()), uri.id->size()});
    if (uri.object)
      tmpl.push_back({CKA_LABEL, const_cast<char*>(uri.object->data()), uri.object->size()});
    CK_OBJECT_HANDLE found[2];
    CK_ULONG n = 0;
    CK_RV rv = mod->f->C_FindObjectsInit(s, tmpl.data(), static_cast<CK_ULONG>(tmpl.size()));
    if (rv == CKR_OK) {
      rv = mod->f->C_FindObjects(s, found, 2, &n);
      (void)mod->f->C_FindObjectsFinal(s);
    }
    if (rv != CKR_OK) throw rv;  // handled by the caller (session-level)
    if (n == 0) throw TokenError(Fault::kKeyNotFound, who() + ": no such private key in the token");
    if (n > 1) {
      throw Error(ErrorCode::kInvalidArgument,
                  who() + ": more than one private key matches; name it by id=");
    }
    key = found[0];
    return found[0];
  }

  // Runs fn(session, key handle) with recovery: a lost session or a stale key handle resets the
  // pool and is tried once more (the first call after a token came back must not fail).
  template <typename Fn>
  auto with_key(Fn fn) -> decltype(fn(CK_SESSION_HANDLE{}, CK_OBJECT_HANDLE{})) {
    for (int attempt = 0;; ++attempt) {
      auto l = lease();
      CK_RV rv = CKR_OK;
      CK_OBJECT_HANDLE k = CK_INVALID_HANDLE;
      try {
        std::lock_guard g(mu);
        k = find_key_locked(l->s);
      } catch (CK_RV r) {
        rv = r;
      } catch (const TokenError& e) {
        if (e.fault() != Fault::kKeyNotFound || attempt != 0) throw;
        // The module's view may be stale (SoftHSM2 forgets the objects of a token whose files
        // vanished and re-reads them only in C_Initialize): re-initialise once, rate-limited.
        const std::uint64_t seen = l->gen;
        l.reset();
        mod->reinitialise(seen, opt.retry_interval_ms);
        continue;
      }
      if (rv == CKR_OK) {
        try {
          return fn(l->s, k);
        } catch (CK_RV r) {
          rv = r;
        }
      }
      // Failure handling.
      const bool stale_key = rv == CKR_OBJECT_HANDLE_INVALID || rv == CKR_KEY_HANDLE_INVALID;
      const bool lost = session_lost(rv);
      {
        std::lock_guard g(mu);
        if (stale_key) key.reset();
        if (lost && l->gen == gen) {
          l->bad = true;
          reset_locked(token_gone(rv) || rv == CKR_GENERAL_ERROR || rv == CKR_DEVICE_ERROR);
        }
      }
      if ((stale_key || lost) && attempt == 0) continue;
      if (stale_key)
        throw TokenError(Fault::kKeyNotFound, who() + ": the key is gone (" + rv_name(rv) + ")");
      throw TokenError(token_gone(rv) ? Fault::kTokenAbsent : Fault::kDevice,
                       who() + ": " + rv_name(rv));
    }
  }

  std::string attr(CK_SESSION_HANDLE s, CK_OBJECT_HANDLE o, CK_ATTRIBUTE_TYPE t) {
    CK_ATTRIBUTE a{t, nullptr, 0};
    CK_RV rv = mod->f->C_GetAttributeValue(s, o, &a, 1);
    if (rv != CKR_OK) throw rv;
    std::string v(a.ulValueLen, '\0');
    a.pValue = v.data();
    rv = mod->f->C_GetAttributeValue(s, o, &a, 1);
    if (rv != CKR_OK) throw rv;
    v.resize(a.ulValueLen);
    return v;
  }

  void load_public_locked(CK_SESSION_HANDLE s, CK_OBJECT_HANDLE k) {
    if (type) return;
    const std::string kt = attr(s, k, CKA_KEY_TYPE);
    CK_KEY_TYPE t = 0;
    if (kt.size() == sizeof t) std::memcpy(&t, kt.data(), sizeof t);
    const std::string params = attr(s, k, CKA_EC_PARAMS);
    KeyType kty;
    if (t == CKK_EC && params == kP256Params) {
      kty = KeyType::kEcP256;
    } else if (t == CKK_EC_EDWARDS && (params == kEd25519Printable || params == kEd25519Oid)) {
      kty = KeyType::kEd25519;
    } else {
      throw Error(ErrorCode::kCrypto, who() + ": the key is neither EC P-256 nor Ed25519");
    }
    // The private object carries no CKA_EC_POINT in most tokens: read its public twin.
    const std::string id = attr(s, k, CKA_ID);
    CK_OBJECT_CLASS cls = CKO_PUBLIC_KEY;
    std::vector<CK_ATTRIBUTE> tmpl{{CKA_CLASS, &cls, sizeof cls},
                                   {CKA_ID, const_cast<char*>(id.data()), id.size()}};
    CK_OBJECT_HANDLE pub[2];
    CK_ULONG n = 0;
    CK_RV rv = mod->f->C_FindObjectsInit(s, tmpl.data(), static_cast<CK_ULONG>(tmpl.size()));
    if (rv == CKR_OK) {
      rv = mod->f->C_FindObjects(s, pub, 2, &n);
      (void)mod->f->C_FindObjectsFinal(s);
    }
    if (rv != CKR_OK) throw rv;
    std::string point;
    if (n == 1) {
      point = attr(s, pub[0], CKA_EC_POINT);
    } else {
      try {
        point = attr(s, k, CKA_EC_POINT);
      } catch (CK_RV) {
        throw TokenError(Fault::kKeyNotFound,
                         who() + ": no public key object with the private key's CKA_ID");
      }
    }
    spki = spki_of(kty, point);
    type = kty;
  }
};

// ---- Key ---------------------------------------------------------------------------------------

Key::Key(const Uri& uri, Options options)
    : state_(std::make_shared<State>(uri, std::move(options))) {}
Key::~Key() = default;

const Uri& Key::uri() const { return state_->uri; }

KeyType Key::type() const {
  {
    std::lock_guard g(state_->mu);
    if (state_->type) return *state_->type;
  }
  return state_->with_key([&](CK_SESSION_HANDLE s, CK_OBJECT_HANDLE k) {
    std::lock_guard g(state_->mu);
    state_->load_public_locked(s, k);
    return *state_->type;
  });
}

std::string Key::public_key_spki() const {
  return state_->with_key([&](CK_SESSION_HANDLE s, CK_OBJECT_HANDLE k) {
    std::lock_guard g(state_->mu);
    state_->load_public_locked(s, k);
    return state_->spki;
  });
}

Key::Attributes Key::attributes() const {
  return state_->with_key([&](CK_SESSION_HANDLE s, CK_OBJECT_HANDLE k) {
    auto flag = [&](CK_ATTRIBUTE_TYPE t) {
      const std::string v = state_->attr(s, k, t);
      return !v.empty() && v[0] != 0;
    };
    Attributes a;
    a.sensitive = flag(CKA_SENSITIVE);
    a.extractable = flag(CKA_EXTRACTABLE);
    a.token = flag(CKA_TOKEN);
    a.always_sensitive = flag(CKA_ALWAYS_SENSITIVE);
    a.never_extractable = flag(CKA_NEVER_EXTRACTABLE);
    a.local = flag(CKA_LOCAL);
    return a;
  });
}

namespace {
std::string do_sign(CK_FUNCTION_LIST* f, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE k,
                    CK_MECHANISM_TYPE mech, std::string_view data, std::size_t max_len) {
  CK_MECHANISM m{mech, nullptr, 0};
  CK_RV rv = f->C_SignInit(s, &m, k);
  if (rv != CKR_OK) throw rv;
  std::string sig(max_len, '\0');
  CK_ULONG len = static_cast<CK_ULONG>(sig.size());
  rv = f->C_Sign(s, reinterpret_cast<CK_BYTE_PTR>(const_cast<char*>(data.data())),
                 static_cast<CK_ULONG>(data.size()), reinterpret_cast<CK_BYTE_PTR>(sig.data()),
                 &len);
  if (rv != CKR_OK) throw rv;  // C_Sign ends the operation on any error but BUFFER_TOO_SMALL
  sig.resize(len);
  return sig;
}
}  // namespace

std::string Key::sign_digest(std::span<const std::uint8_t> digest) const {
  if (digest.size() != 32) {
    throw Error(ErrorCode::kInvalidArgument, "sign: digest must be 32 bytes (SHA-256)");
  }
  if (type() != KeyType::kEcP256) {
    throw Error(ErrorCode::kCrypto, state_->who() + ": not an ECDSA P-256 key");
  }
  // CKM_ECDSA signs the hash we computed ourselves (§2.3.6): the token never sees the document,
  // and the mechanism is one every token offers (CKM_ECDSA_SHA256 is optional). The result is
  // r‖s, each 32 bytes (§2.3.1).
  const std::string raw = state_->with_key([&](CK_SESSION_HANDLE s, CK_OBJECT_HANDLE k) {
    return do_sign(state_->mod->f, s, k, CKM_ECDSA,
                   std::string_view(reinterpret_cast<const char*>(digest.data()), digest.size()),
                   64);
  });
  if (raw.size() != 64) {
    throw TokenError(Fault::kDevice, state_->who() + ": CKM_ECDSA returned " +
                                         std::to_string(raw.size()) + " bytes, expected 64");
  }
  // Low-S (qr.md "Low-S"): the same signature, one encoding, so the QR verifier's rule holds for
  // token keys too.
  return cose::raw_to_der(cose::normalise_low_s(raw));
}

std::string Key::sign_message(std::string_view message) const {
  if (type() != KeyType::kEd25519) {
    throw Error(ErrorCode::kCrypto, state_->who() + ": not an Ed25519 key");
  }
  // CKM_EDDSA without parameters is pure Ed25519 (PKCS#11 v3.0 §2.3.14, RFC 8032 §5.1).
  const std::string sig = state_->with_key([&](CK_SESSION_HANDLE s, CK_OBJECT_HANDLE k) {
    return do_sign(state_->mod->f, s, k, CKM_EDDSA, message, 64);
  });
  if (sig.size() != 64) throw TokenError(Fault::kDevice, state_->who() + ": CKM_EDDSA size");
  return sig;
}

// ---- Pkcs11Signer ------------------------------------------------------------------------------

Pkcs11Signer::Pkcs11Signer(const Uri& key_uri, std::string cert_der, std::vector<std::string> chain,
                           Options options)
    : key_(key_uri, std::move(options)),
      cert_(std::move(cert_der)),
      chain_(std::move(chain)),
      checked_(std::make_shared<std::once_flag>()) {
  const auto* p = reinterpret_cast<const unsigned char*>(cert_.data());
  ossl::X509Ptr x(d2i_X509(nullptr, &p, static_cast<long>(cert_.size())));
  ossl::check(x != nullptr, "pkcs11 signer: the certificate is not DER X.509");
}

std::string Pkcs11Signer::sign(std::span<const std::uint8_t> digest) const {
  std::call_once(*checked_, [&] {
    // The certificate must certify this token key: a mismatch would seal with a signature no
    // verifier accepts. call_once retries when this throws (the token may come later).
    const auto* p = reinterpret_cast<const unsigned char*>(cert_.data());
    ossl::X509Ptr x(d2i_X509(nullptr, &p, static_cast<long>(cert_.size())));
    const std::string spki = key_.public_key_spki();
    unsigned char* der = nullptr;
    const int n = i2d_PUBKEY(X509_get0_pubkey(x.get()), &der);
    ossl::check(n > 0, "pkcs11 signer: certificate public key");
    const std::string cert_spki(reinterpret_cast<char*>(der), static_cast<std::size_t>(n));
    OPENSSL_free(der);
    if (cert_spki != spki) {
      throw Error(ErrorCode::kCrypto, "pkcs11 signer: " + key_.uri().str() +
                                          " does not hold the private key of the certificate");
    }
  });
  return key_.sign_digest(digest);
}

// ---- key generation ----------------------------------------------------------------------------

GeneratedKey generate_key_pair(const Uri& token_uri, KeyType type, const std::string& label,
                               const Options& options) {
  if (label.empty()) throw Error(ErrorCode::kInvalidArgument, "pkcs11 keygen: empty label");
  Uri base = token_uri;
  base.object.reset();
  base.id.reset();
  base.type.reset();
  // A State for the token (no key): its lease gives a logged-in R/W session.
  Key::State st(base, options);
  std::string id(16, '\0');
  ossl::check(RAND_bytes(reinterpret_cast<unsigned char*>(id.data()), 16) == 1, "pkcs11: CKA_ID");
  auto l = st.lease();
  CK_FUNCTION_LIST* f = st.mod->f;
  auto fail = [&](CK_RV rv, const std::string& what) -> TokenError {
    l->bad = session_lost(rv);
    return TokenError(token_gone(rv) ? Fault::kTokenAbsent : Fault::kDevice,
                      st.who() + ": " + what + " " + rv_name(rv));
  };
  {
    // Labels name key versions: refuse a second key with the same label.
    CK_OBJECT_CLASS cls = CKO_PRIVATE_KEY;
    CK_ATTRIBUTE t[] = {{CKA_CLASS, &cls, sizeof cls},
                        {CKA_LABEL, const_cast<char*>(label.data()), label.size()}};
    CK_OBJECT_HANDLE h;
    CK_ULONG n = 0;
    CK_RV rv = f->C_FindObjectsInit(l->s, t, 2);
    if (rv == CKR_OK) {
      rv = f->C_FindObjects(l->s, &h, 1, &n);
      (void)f->C_FindObjectsFinal(l->s);
    }
    if (rv != CKR_OK) throw fail(rv, "C_FindObjects");
    if (n != 0) {
      throw Error(ErrorCode::kInvalidArgument,
                  "pkcs11 keygen: the token already has a private key labelled '" + label + "'");
    }
  }
  CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
  const std::string& params = type == KeyType::kEcP256 ? kP256Params : kEd25519Printable;
  CK_ATTRIBUTE pub[] = {
      {CKA_TOKEN, &yes, sizeof yes},
      {CKA_PRIVATE, &no, sizeof no},
      {CKA_VERIFY, &yes, sizeof yes},
      {CKA_EC_PARAMS, const_cast<char*>(params.data()), params.size()},
      {CKA_LABEL, const_cast<char*>(label.data()), label.size()},
      {CKA_ID, id.data(), id.size()},
  };
  // §4.9 storage/private key attributes: kept on the token, usable only after login, never
  // revealed (SENSITIVE) or wrapped out (EXTRACTABLE false) — so never backed up either.
  CK_ATTRIBUTE priv[] = {
      {CKA_TOKEN, &yes, sizeof yes},     {CKA_PRIVATE, &yes, sizeof yes},
      {CKA_SENSITIVE, &yes, sizeof yes}, {CKA_EXTRACTABLE, &no, sizeof no},
      {CKA_SIGN, &yes, sizeof yes},      {CKA_DECRYPT, &no, sizeof no},
      {CKA_DERIVE, &no, sizeof no},      {CKA_LABEL, const_cast<char*>(label.data()), label.size()},
      {CKA_ID, id.data(), id.size()},
  };
  CK_MECHANISM mech{type == KeyType::kEcP256 ? CKM_EC_KEY_PAIR_GEN : CKM_EC_EDWARDS_KEY_PAIR_GEN,
                    nullptr, 0};
  CK_OBJECT_HANDLE hpub = CK_INVALID_HANDLE, hpriv = CK_INVALID_HANDLE;
  CK_RV rv = f->C_GenerateKeyPair(l->s, &mech, pub, sizeof pub / sizeof pub[0], priv,
                                  sizeof priv / sizeof priv[0], &hpub, &hpriv);
  if (rv == CKR_MECHANISM_INVALID) {
    throw TokenError(Fault::kDevice, st.who() + ": the token cannot generate " +
                                         (type == KeyType::kEcP256 ? "EC P-256" : "Ed25519") +
                                         " keys (CKR_MECHANISM_INVALID)");
  }
  if (rv != CKR_OK) throw fail(rv, "C_GenerateKeyPair");
  std::string point;
  try {
    point = st.attr(l->s, hpub, CKA_EC_POINT);
  } catch (CK_RV r) {
    throw fail(r, "reading CKA_EC_POINT");
  }
  GeneratedKey out;
  out.spki_der = spki_of(type, point);
  out.uri = token_uri;
  out.uri.object = label;
  out.uri.id = id;
  out.uri.type = "private";
  return out;
}

void destroy_key_pair(const Uri& key_uri, const Options& options) {
  Key::State st(key_uri, options);
  auto l = st.lease();
  CK_FUNCTION_LIST* f = st.mod->f;
  int destroyed = 0;
  for (CK_OBJECT_CLASS cls : {CKO_PRIVATE_KEY, CKO_PUBLIC_KEY}) {
    std::vector<CK_ATTRIBUTE> t{{CKA_CLASS, &cls, sizeof cls}};
    if (key_uri.id)
      t.push_back({CKA_ID, const_cast<char*>(key_uri.id->data()), key_uri.id->size()});
    if (key_uri.object)
      t.push_back({CKA_LABEL, const_cast<char*>(key_uri.object->data()), key_uri.object->size()});
    if (t.size() == 1) throw Error(ErrorCode::kInvalidArgument, "pkcs11: the URI names no key");
    CK_OBJECT_HANDLE h[8];
    CK_ULONG n = 0;
    CK_RV rv = f->C_FindObjectsInit(l->s, t.data(), static_cast<CK_ULONG>(t.size()));
    if (rv == CKR_OK) {
      rv = f->C_FindObjects(l->s, h, 8, &n);
      (void)f->C_FindObjectsFinal(l->s);
    }
    if (rv != CKR_OK) throw TokenError(Fault::kDevice, st.who() + ": C_FindObjects " + rv_name(rv));
    for (CK_ULONG i = 0; i < n; ++i) {
      rv = f->C_DestroyObject(l->s, h[i]);
      if (rv != CKR_OK)
        throw TokenError(Fault::kDevice, st.who() + ": C_DestroyObject " + rv_name(rv));
      ++destroyed;
    }
  }
  if (destroyed == 0) throw TokenError(Fault::kKeyNotFound, st.who() + ": no such key");
}

// ---- CSR ---------------------------------------------------------------------------------------

std::string make_csr(const Key& key,
                     const std::vector<std::pair<std::string, std::string>>& subject) {
  const std::string spki = key.public_key_spki();
  if (key.type() != KeyType::kEcP256) {
    throw Error(ErrorCode::kInvalidArgument, "make_csr: only for ECDSA P-256 token keys");
  }
  const auto* p = reinterpret_cast<const unsigned char*>(spki.data());
  ossl::PKey pub(d2i_PUBKEY(nullptr, &p, static_cast<long>(spki.size())));
  ossl::X509Req req(X509_REQ_new());
  ossl::X509Name name(X509_NAME_new());
  ossl::check(pub && req && name, "make_csr: allocation");
  for (const auto& [f, v] : subject) {
    ossl::check(X509_NAME_add_entry_by_txt(name.get(), f.c_str(), MBSTRING_UTF8,
                                           reinterpret_cast<const unsigned char*>(v.data()),
                                           static_cast<int>(v.size()), -1, 0) == 1,
                "make_csr: subject " + f);
  }
  ossl::check(X509_REQ_set_version(req.get(), 0) == 1 &&
                  X509_REQ_set_subject_name(req.get(), name.get()) == 1 &&
                  X509_REQ_set_pubkey(req.get(), pub.get()) == 1,
              "make_csr: filling the request");
  // RFC 2986 §4.2: signatureAlgorithm ecdsa-with-SHA256 (RFC 5758 §3.2, parameters absent),
  // signature over the DER of CertificationRequestInfo, made by the token.
  X509_ALGOR* alg = X509_ALGOR_new();
  ossl::check(alg != nullptr && X509_ALGOR_set0(alg, OBJ_nid2obj(NID_ecdsa_with_SHA256),
                                                V_ASN1_UNDEF, nullptr) == 1,
              "make_csr: algorithm");
  const int ok = X509_REQ_set1_signature_algo(req.get(), alg);
  X509_ALGOR_free(alg);
  ossl::check(ok == 1, "make_csr: algorithm");
  unsigned char* tbs = nullptr;
  const int n = i2d_re_X509_REQ_tbs(req.get(), &tbs);
  ossl::check(n > 0, "make_csr: encoding CertificationRequestInfo");
  const std::string digest =
      sha256_of(std::string_view(reinterpret_cast<const char*>(tbs), static_cast<std::size_t>(n)));
  OPENSSL_free(tbs);
  const std::string sig = key.sign_digest(std::span<const std::uint8_t>(
      reinterpret_cast<const std::uint8_t*>(digest.data()), digest.size()));
  ASN1_BIT_STRING* bits = ASN1_BIT_STRING_new();
  ossl::check(
      bits != nullptr &&
          ASN1_BIT_STRING_set(bits, reinterpret_cast<unsigned char*>(const_cast<char*>(sig.data())),
                              static_cast<int>(sig.size())) == 1,
      "make_csr: signature");
  bits->flags &= ~(ASN1_STRING_FLAG_BITS_LEFT | 0x07);
  bits->flags |= ASN1_STRING_FLAG_BITS_LEFT;
  X509_REQ_set0_signature(req.get(), bits);
  ossl::check(X509_REQ_verify(req.get(), pub.get()) == 1,
              "make_csr: the token's signature does not verify with its public key");
  ossl::Bio b(BIO_new(BIO_s_mem()));
  ossl::check(b && PEM_write_bio_X509_REQ(b.get(), req.get()) == 1, "make_csr: PEM");
  char* data = nullptr;
  const long len = BIO_get_mem_data(b.get(), &data);
  return std::string(data, static_cast<std::size_t>(len));
}

}  // namespace libcert::pkcs11
