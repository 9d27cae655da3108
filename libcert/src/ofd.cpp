// ofd.cpp — GB/T 38540 v4 seals inside OFD packages: seal_ofd and verify_ofd (libcert/ofd.h).
//
// XML is read with libxml2 (Debian's libxml2-dev: the parser every distribution fuzzes and
// patches, with entity-expansion and depth limits built in; network access off, DTDs refused) and
// written as text by this file: the bytes that are hashed are the bytes that are stored, never a
// re-serialisation of a tree (docs/ofd.md "Byte stability").
#include "libcert/ofd.h"

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <openssl/evp.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>

#include "libcert/error.h"
#include "libcert/roles.h"
#include "libcert/ses.h"
#include "cose.h"  // hex
#include "ofd_zip.h"
#include "ossl.h"
#include "trust_store.h"

namespace libcert {

namespace {

using ofd::ZipEntry;

// ---- small helpers ----------------------------------------------------------------------------

struct XmlFree {
  void operator()(xmlDoc* d) const noexcept { xmlFreeDoc(d); }
};
using XmlDoc = std::unique_ptr<xmlDoc, XmlFree>;

[[noreturn]] void malformed(const std::string& m) { throw Error(ErrorCode::kInvalidArgument, m); }

XmlDoc parse_xml(std::string_view bytes, const std::string& name) {
  // libxml2 2.9 must be initialised once before parsing from several threads (certd verifies
  // concurrently).
  static std::once_flag init;
  std::call_once(init, [] { xmlInitParser(); });
  if (bytes.size() > (16u << 20)) throw Error(ErrorCode::kLimitExceeded, name + ": XML too large");
  // No XML_PARSE_NOENT (entities are not substituted), no DTD loading, no network.
  XmlDoc d(xmlReadMemory(bytes.data(), static_cast<int>(bytes.size()), name.c_str(), nullptr,
                         XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING));
  if (!d) malformed(name + ": not well-formed XML");
  if (d->intSubset != nullptr || d->extSubset != nullptr)
    malformed(name + ": a DOCTYPE is not allowed in OFD XML");
  if (xmlDocGetRootElement(d.get()) == nullptr) malformed(name + ": no root element");
  return d;
}
std::string_view local(const xmlNode* n) {
  return n != nullptr && n->name != nullptr ? reinterpret_cast<const char*>(n->name) : "";
}
// Element children by local name (OFD files in the wild use the ofd: prefix, another prefix or
// none; GB/T 33190's namespace is http://www.ofdspec.org/2016).
std::vector<xmlNode*> kids(const xmlNode* n, std::string_view name) {
  std::vector<xmlNode*> out;
  if (n == nullptr) return out;
  for (xmlNode* c = n->children; c != nullptr; c = c->next)
    if (c->type == XML_ELEMENT_NODE && local(c) == name) out.push_back(c);
  return out;
}
xmlNode* kid(const xmlNode* n, std::string_view name) {
  auto v = kids(n, name);
  return v.empty() ? nullptr : v.front();
}
std::string text(const xmlNode* n) {
  if (n == nullptr) return {};
  xmlChar* t = xmlNodeGetContent(n);
  std::string s = t != nullptr ? reinterpret_cast<const char*>(t) : "";
  xmlFree(t);
  const auto b = s.find_first_not_of(" \t\r\n");
  const auto e = s.find_last_not_of(" \t\r\n");
  return b == std::string::npos ? std::string() : s.substr(b, e - b + 1);
}
std::string attr(const xmlNode* n, const char* name) {
  if (n == nullptr) return {};
  xmlChar* v = xmlGetProp(n, reinterpret_cast<const xmlChar*>(name));
  std::string s = v != nullptr ? reinterpret_cast<const char*>(v) : "";
  xmlFree(v);
  return s;
}
using ofd::xml_escape;

std::string b64(std::string_view s) {
  std::string out(4 * ((s.size() + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(s.data()),
                                static_cast<int>(s.size()));
  out.resize(static_cast<std::size_t>(n));
  return out;
}
std::optional<std::string> unb64(std::string_view in) {
  std::string s;
  for (char c : in)
    if (c != ' ' && c != '\n' && c != '\r' && c != '\t') s += c;
  if (s.empty() || s.size() % 4 != 0) return std::nullopt;
  std::string out(s.size() / 4 * 3, '\0');
  const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(s.data()),
                                static_cast<int>(s.size()));
  if (n < 0) return std::nullopt;
  std::size_t len = static_cast<std::size_t>(n);
  if (s.size() >= 1 && s[s.size() - 1] == '=') --len;
  if (s.size() >= 2 && s[s.size() - 2] == '=') --len;
  out.resize(len);
  return out;
}
using cose::hex;

// ST_Loc resolution (GB/T 33190 §7.2.3): "/a/b" is absolute in the package; "a/b" is relative to
// the directory of the file that names it. Returns the package name (no leading '/'), or nullopt
// when the path leaves the package.
std::optional<std::string> resolve(std::string_view loc, std::string_view base_file) {
  std::string path;
  if (!loc.empty() && loc.front() == '/') {
    path = std::string(loc.substr(1));
  } else {
    const auto slash = base_file.rfind('/');
    path = (slash == std::string_view::npos ? std::string() : std::string(base_file.substr(0, slash + 1))) +
           std::string(loc);
  }
  std::vector<std::string> segs;
  std::size_t start = 0;
  while (start <= path.size()) {
    const auto slash = path.find('/', start);
    const std::string seg = path.substr(start, slash == std::string::npos ? std::string::npos : slash - start);
    if (seg == "..") {
      if (segs.empty()) return std::nullopt;
      segs.pop_back();
    } else if (!seg.empty() && seg != ".") {
      segs.push_back(seg);
    }
    if (slash == std::string::npos) break;
    start = slash + 1;
  }
  std::string out;
  for (const auto& s : segs) out += (out.empty() ? "" : "/") + s;
  if (!ofd::safe_name(out) || out.back() == '/') return std::nullopt;
  return out;
}

struct Package {
  std::vector<ZipEntry> entries;
  const std::string* find(std::string_view name) const {
    for (const auto& e : entries)
      if (e.name == name) return &e.data;
    return nullptr;
  }
  void put(const std::string& name, std::string data) {
    for (auto& e : entries)
      if (e.name == name) {
        e.data = std::move(data);
        return;
      }
    entries.push_back({name, std::move(data)});
  }
};

// What OFD.xml says about the first document.
struct DocRefs {
  std::string doc_root;            // e.g. "Doc_0/Document.xml"
  std::optional<std::string> signatures;  // e.g. "Doc_0/Signs/Signatures.xml"
  std::string issuer_code;
  std::vector<std::string> co_issuer_codes;
};
DocRefs read_ofd_xml(const Package& pkg) {
  const std::string* ofd = pkg.find("OFD.xml");
  if (ofd == nullptr) malformed("OFD.xml: missing (GB/T 33190 §7.4: the package entry point)");
  XmlDoc d = parse_xml(*ofd, "OFD.xml");
  const xmlNode* root = xmlDocGetRootElement(d.get());
  if (local(root) != "OFD") malformed("OFD.xml: root element is not OFD");
  const xmlNode* body = kid(root, "DocBody");
  if (body == nullptr) malformed("OFD.xml: no DocBody");
  DocRefs r;
  const auto dr = resolve(text(kid(body, "DocRoot")), "OFD.xml");
  if (!dr) malformed("OFD.xml: DocRoot is missing or leaves the package");
  r.doc_root = *dr;
  if (const xmlNode* s = kid(body, "Signatures")) {
    const auto sp = resolve(text(s), "OFD.xml");
    if (!sp) malformed("OFD.xml: Signatures leaves the package");
    r.signatures = *sp;
  }
  // The licence record (GB/T 36903 as practised) in DocInfo/CustomDatas: the same names as the
  // PDF's XMP lic: properties.
  for (const xmlNode* cd : kids(kid(kid(body, "DocInfo"), "CustomDatas"), "CustomData")) {
    const std::string n = attr(cd, "Name");
    if (n == "IssuingAuthorityCode") r.issuer_code = text(cd);
    if (n == "CoIssuingAuthorityCodes") {
      std::string v = text(cd);
      std::size_t st = 0;
      while (st < v.size()) {
        auto e = v.find_first_of(" ,;", st);
        if (e == std::string::npos) e = v.size();
        if (e > st) r.co_issuer_codes.push_back(v.substr(st, e - st));
        st = e + 1;
      }
    }
  }
  return r;
}

struct SigEntry {
  std::string id, type;
  std::string path;  // Signature.xml, resolved
};
struct SigList {
  std::string max_id;
  std::vector<SigEntry> sigs;
};
SigList read_signatures(const Package& pkg, const std::string& path) {
  SigList out;
  const std::string* b = pkg.find(path);
  if (b == nullptr) malformed(path + ": listed in OFD.xml but missing");
  XmlDoc d = parse_xml(*b, path);
  const xmlNode* root = xmlDocGetRootElement(d.get());
  if (local(root) != "Signatures") malformed(path + ": root element is not Signatures");
  out.max_id = text(kid(root, "MaxSignId"));
  for (const xmlNode* s : kids(root, "Signature")) {
    const auto p = resolve(attr(s, "BaseLoc"), path);
    if (!p) malformed(path + ": a Signature BaseLoc leaves the package");
    out.sigs.push_back({attr(s, "ID"), attr(s, "Type"), *p});
  }
  return out;
}

struct Reference {
  std::string file;   // resolved
  std::string raw;    // FileRef as written
  std::string value;  // decoded CheckValue
  bool value_ok = false;
};
struct SignatureXml {
  std::string method;  // SignatureMethod
  std::string date_time;
  std::string check_method;
  std::vector<Reference> refs;
  std::string page_ref, boundary;
  std::optional<std::string> seal_loc;
  std::string signed_value_loc;
};
SignatureXml read_signature_xml(std::string_view bytes, const std::string& path) {
  XmlDoc d = parse_xml(bytes, path);
  const xmlNode* root = xmlDocGetRootElement(d.get());
  if (local(root) != "Signature") malformed(path + ": root element is not Signature");
  const xmlNode* si = kid(root, "SignedInfo");
  if (si == nullptr) malformed(path + ": no SignedInfo");
  SignatureXml s;
  s.method = text(kid(si, "SignatureMethod"));
  s.date_time = text(kid(si, "SignatureDateTime"));
  const xmlNode* refs = kid(si, "References");
  if (refs == nullptr) malformed(path + ": no References");
  s.check_method = attr(refs, "CheckMethod");
  for (const xmlNode* r : kids(refs, "Reference")) {
    Reference ref;
    ref.raw = attr(r, "FileRef");
    // FileRef is absolute in practice ("/Doc_0/..."); a relative one is read from the package root.
    const auto p = resolve(ref.raw.empty() || ref.raw.front() == '/' ? ref.raw : "/" + ref.raw, "");
    if (!p) malformed(path + ": Reference FileRef '" + ref.raw + "' leaves the package");
    ref.file = *p;
    const auto v = unb64(text(kid(r, "CheckValue")));
    ref.value_ok = v.has_value();
    if (v) ref.value = *v;
    s.refs.push_back(std::move(ref));
  }
  if (const xmlNode* st = kid(si, "StampAnnot")) {
    s.page_ref = attr(st, "PageRef");
    s.boundary = attr(st, "Boundary");
  }
  if (const xmlNode* seal = kid(si, "Seal")) {
    const auto p = resolve(text(kid(seal, "BaseLoc")), path);
    if (!p) malformed(path + ": Seal BaseLoc leaves the package");
    s.seal_loc = *p;
  }
  const auto sv = resolve(text(kid(root, "SignedValue")), path);
  if (!sv) malformed(path + ": SignedValue is missing or leaves the package");
  s.signed_value_loc = *sv;
  return s;
}

bool is_sm3_method(std::string_view m) {
  // ofdrw writes "SM3", the tax authority the OID (GM/T 0006).
  return m == "SM3" || m == "sm3" || m == kOidSm3;
}

std::string page_id(const Package& pkg, const std::string& doc_root, std::size_t index) {
  const std::string* b = pkg.find(doc_root);
  if (b == nullptr) malformed(doc_root + ": missing (named by OFD.xml DocRoot)");
  XmlDoc d = parse_xml(*b, doc_root);
  const auto pages = kids(kid(xmlDocGetRootElement(d.get()), "Pages"), "Page");
  if (index >= pages.size())
    malformed("page " + std::to_string(index) + " out of range (" + std::to_string(pages.size()) +
              " pages)");
  const std::string id = attr(pages[index], "ID");
  if (id.empty()) malformed(doc_root + ": page without ID");
  return id;
}

std::string gmt(std::int64_t t, const char* fmt) {
  const time_t tt = static_cast<time_t>(t);
  struct tm tm {};
  gmtime_r(&tt, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, fmt, &tm);
  return buf;
}
std::string mm(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3f", v);
  std::string s = buf;
  while (s.back() == '0') s.pop_back();
  if (s.back() == '.') s.pop_back();
  return s;
}

}  // namespace

// ---- sealing ----------------------------------------------------------------------------------

bool looks_like_ofd(std::string_view bytes) noexcept {
  return bytes.size() >= 4 && bytes.substr(0, 4) == std::string_view("PK\x03\x04", 4);
}

std::string seal_ofd(std::string_view in, const Signer& signer, std::string_view seal_esl,
                     const OfdSealOptions& opt) {
  std::vector<ZipEntry> entries = ofd::zip_read(in);
  ofd::seal_entries(entries, signer, seal_esl, opt);
  return ofd::zip_write(entries);
}

void ofd::seal_entries(std::vector<ZipEntry>& entries, const Signer& signer,
                       std::string_view seal_esl, const OfdSealOptions& opt) {
  if (opt.clock == nullptr) throw Error(ErrorCode::kInvalidArgument, "seal_ofd: no clock");
  if (signer.algorithm() != SignatureAlgorithm::kSm2Sm3)
    throw Error(ErrorCode::kInvalidArgument, "seal_ofd: GB/T 38540 seals are SM2-with-SM3");
  const SesSeal seal = parse_ses_seal(seal_esl);
  if (seal.version != 4)
    throw Error(ErrorCode::kInvalidArgument, "seal_ofd: the seal is " + seal.format +
                                                 "; only GB/T 38540 v4 seals are written");
  if (std::find(seal.certs.begin(), seal.certs.end(), signer.certificate()) == seal.certs.end())
    throw Error(ErrorCode::kInvalidArgument,
                "seal_ofd: the seal's certificate list does not name the signer's certificate");
  const std::int64_t now = opt.clock->now();
  if (now < seal.valid_start || now > seal.valid_end)
    throw Error(ErrorCode::kInvalidArgument, "seal_ofd: the seal is not valid now");

  Package pkg{std::move(entries)};
  const DocRefs refs = read_ofd_xml(pkg);
  const std::string doc_dir = refs.doc_root.substr(0, refs.doc_root.rfind('/') + 1);
  std::string list_path;
  SigList list;
  if (refs.signatures) {
    list_path = *refs.signatures;
    list = read_signatures(pkg, list_path);
    // An earlier seal that protects Signatures.xml forbids any further seal (it would break it).
    for (const auto& s : list.sigs) {
      const std::string* sx = pkg.find(s.path);
      if (sx == nullptr) malformed(s.path + ": listed signature missing");
      for (const auto& r : read_signature_xml(*sx, s.path).refs)
        if (r.file == list_path)
          throw Error(ErrorCode::kInvalidArgument,
                      "seal_ofd: signature " + s.path +
                          " protects Signatures.xml; a further seal would break it");
    }
  } else {
    // First seal: OFD.xml gains <ofd:Signatures> in its DocBody — before anything is hashed.
    list_path = doc_dir + "Signs/Signatures.xml";
    std::string ofd = *pkg.find("OFD.xml");
    const XmlDoc d = parse_xml(ofd, "OFD.xml");
    const xmlNode* body = kid(xmlDocGetRootElement(d.get()), "DocBody");
    const std::string prefix =
        body->ns != nullptr && body->ns->prefix != nullptr
            ? std::string(reinterpret_cast<const char*>(body->ns->prefix)) + ":"
            : std::string();
    const std::string close = "</" + prefix + "DocBody>";
    const auto at = ofd.find(close);
    if (at == std::string::npos) malformed("OFD.xml: cannot find " + close);
    ofd.insert(at, "<" + prefix + "Signatures>" + list_path + "</" + prefix + "Signatures>");
    pkg.put("OFD.xml", std::move(ofd));
  }
  const std::string page = page_id(pkg, refs.doc_root, opt.page);

  // The new signature's directory: Sign_<n> with the first free n.
  const std::string signs_dir = list_path.substr(0, list_path.rfind('/') + 1);
  std::size_t n = list.sigs.size();
  auto taken = [&](std::size_t k) {
    const std::string pre = signs_dir + "Sign_" + std::to_string(k) + "/";
    return std::any_of(pkg.entries.begin(), pkg.entries.end(),
                       [&](const ZipEntry& e) { return e.name.rfind(pre, 0) == 0; });
  };
  while (taken(n)) ++n;
  const std::string dir = signs_dir + "Sign_" + std::to_string(n) + "/";
  const std::string sig_xml_path = dir + "Signature.xml", sv_path = dir + "SignedValue.dat",
                    seal_path = dir + "Seal.esl";
  pkg.put(seal_path, std::string(seal_esl));

  // References: every file now in the package except the signature list (left open for later
  // seals) — this signature's Signature.xml and SignedValue.dat do not exist yet.
  std::string refs_xml;
  for (const auto& e : pkg.entries) {
    if (e.name == list_path) continue;
    refs_xml += "<ofd:Reference FileRef=\"/" + xml_escape(e.name) + "\"><ofd:CheckValue>" +
                b64(sm3(e.data)) + "</ofd:CheckValue></ofd:Reference>";
  }
  const double w = opt.w_mm > 0 ? opt.w_mm : seal.picture.width_mm;
  const double h = opt.h_mm > 0 ? opt.h_mm : seal.picture.height_mm;
  const std::string sig_xml =
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
      "<ofd:Signature xmlns:ofd=\"http://www.ofdspec.org/2016\"><ofd:SignedInfo>"
      "<ofd:Provider ProviderName=\"" + xml_escape(opt.provider) + "\" Version=\"1.0\" Company=\"libcert\"/>"
      "<ofd:SignatureMethod>" + std::string(kOidSm2WithSm3) + "</ofd:SignatureMethod>"
      "<ofd:SignatureDateTime>" + gmt(now, "%Y%m%d%H%M%SZ") + "</ofd:SignatureDateTime>"
      "<ofd:References CheckMethod=\"" + std::string(kOidSm3) + "\">" + refs_xml +
      "</ofd:References>"
      "<ofd:StampAnnot ID=\"1\" PageRef=\"" + xml_escape(page) + "\" Boundary=\"" + mm(opt.x_mm) +
      " " + mm(opt.y_mm) + " " + mm(w) + " " + mm(h) + "\"/>"
      "<ofd:Seal><ofd:BaseLoc>/" + seal_path + "</ofd:BaseLoc></ofd:Seal>"
      "</ofd:SignedInfo><ofd:SignedValue>/" + sv_path + "</ofd:SignedValue></ofd:Signature>";
  // GB/T 38540 §9: dataHash = SM3 over the exact bytes of Signature.xml; propertyInfo its path.
  const std::string sv = make_ses_signature(seal_esl, now, sm3(sig_xml), "/" + sig_xml_path, signer);
  pkg.put(sig_xml_path, sig_xml);
  pkg.put(sv_path, sv);

  // The signature list (unprotected by design): the earlier entries and this one.
  long max_id = 0;
  for (const auto& s : list.sigs) max_id = std::max(max_id, std::strtol(s.id.c_str(), nullptr, 10));
  max_id = std::max(max_id, std::strtol(list.max_id.c_str(), nullptr, 10));
  std::string lx = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                   "<ofd:Signatures xmlns:ofd=\"http://www.ofdspec.org/2016\"><ofd:MaxSignId>" +
                   std::to_string(max_id + 1) + "</ofd:MaxSignId>";
  for (const auto& s : list.sigs)
    lx += "<ofd:Signature ID=\"" + xml_escape(s.id) + "\" Type=\"" +
          xml_escape(s.type.empty() ? "Seal" : s.type) + "\" BaseLoc=\"/" + xml_escape(s.path) +
          "\"/>";
  lx += "<ofd:Signature ID=\"" + std::to_string(max_id + 1) + "\" Type=\"Seal\" BaseLoc=\"/" +
        sig_xml_path + "\"/></ofd:Signatures>";
  pkg.put(list_path, std::move(lx));
  entries = std::move(pkg.entries);
}

// ---- verification -----------------------------------------------------------------------------

namespace {

void add(std::vector<Check>& checks, std::string id, CheckStatus st, std::string detail) {
  checks.push_back({std::move(id), st, std::move(detail)});
}
Check* find_check(std::vector<Check>& checks, std::string_view id) {
  for (auto& c : checks)
    if (c.id == id) return &c;
  return nullptr;
}

struct ChainResult {
  bool ok = false, untrusted = false;
  std::string detail;
};
// The SM2 chain at `when`, with the distinguishing ID set on every certificate (OpenSSL 3.0
// checks an SM2 certificate signature with an empty ID otherwise and fails; ofd-ses.md §1.2.3).
ChainResult sm2_chain(std::string_view der, const TrustStore& trust, std::int64_t when) {
  ChainResult r;
  auto set_id = [](X509* x) {
    ASN1_OCTET_STRING* id = ASN1_OCTET_STRING_new();
    if (id == nullptr) return;
    ASN1_OCTET_STRING_set(id, reinterpret_cast<const unsigned char*>(kSm2DefaultId.data()),
                          static_cast<int>(kSm2DefaultId.size()));
    X509_set0_distinguishing_id(x, id);
  };
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  ossl::X509Ptr leaf(d2i_X509(nullptr, &p, static_cast<long>(der.size())));
  if (!leaf) {
    ERR_clear_error();
    r.detail = "the certificate is not DER";
    return r;
  }
  set_id(leaf.get());
  ossl::X509Store store(X509_STORE_new());
  ossl::X509StoreCtx ctx(X509_STORE_CTX_new());
  bool ok = store && ctx;
  for (const auto& root : trust.impl().roots) {
    // A copy per verification: the ID is set on the certificate object, the store is shared.
    ossl::X509Ptr c(X509_dup(root.get()));
    if (!c) continue;
    set_id(c.get());
    ok = ok && X509_STORE_add_cert(store.get(), c.get()) == 1;
  }
  ok = ok && X509_STORE_CTX_init(ctx.get(), store.get(), leaf.get(), nullptr) == 1;
  if (!ok) {
    r.detail = "building the chain failed: " + ossl::drain_errors();
    return r;
  }
  X509_VERIFY_PARAM* param = X509_STORE_CTX_get0_param(ctx.get());
  X509_VERIFY_PARAM_set_time(param, static_cast<time_t>(when));
  X509_VERIFY_PARAM_set_depth(param, 8);
  if (X509_verify_cert(ctx.get()) == 1) {
    r.ok = true;
    r.detail = "chains to a trusted SM2 root at the signing time";
  } else {
    const int e = X509_STORE_CTX_get_error(ctx.get());
    r.untrusted = e == X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY ||
                  e == X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT ||
                  e == X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT ||
                  e == X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN ||
                  e == X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE;
    r.detail = std::string(r.untrusted ? "does not chain to a trusted SM2 root: " : "") +
               X509_verify_cert_error_string(e);
  }
  ERR_clear_error();
  return r;
}

std::string subject_of(std::string_view der, std::string* org) {
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  ossl::X509Ptr c(d2i_X509(nullptr, &p, static_cast<long>(der.size())));
  if (!c) {
    ERR_clear_error();
    return {};
  }
  ossl::Bio b(BIO_new(BIO_s_mem()));
  X509_NAME_print_ex(b.get(), X509_get_subject_name(c.get()), 0,
                     XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB);
  char* data = nullptr;
  const long n = BIO_get_mem_data(b.get(), &data);
  if (org != nullptr) {
    const X509_NAME* nm = X509_get_subject_name(c.get());
    int idx = X509_NAME_get_index_by_NID(nm, NID_organizationName, -1);
    if (idx < 0) idx = X509_NAME_get_index_by_NID(nm, NID_commonName, -1);
    if (idx >= 0) {
      unsigned char* u = nullptr;
      const int len = ASN1_STRING_to_UTF8(&u, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(nm, idx)));
      if (len > 0) org->assign(reinterpret_cast<char*>(u), static_cast<std::size_t>(len));
      OPENSSL_free(u);
    }
  }
  ERR_clear_error();
  return n > 0 ? std::string(data, static_cast<std::size_t>(n)) : std::string();
}

// The verdict each failed check leads to (docs/verdicts.md).
Verdict verdict_of(const Check& c, const SignatureReport* s) {
  if (c.status != CheckStatus::kFail && c.status != CheckStatus::kNotChecked) return Verdict::kValid;
  const std::string& id = c.id;
  if (c.status == CheckStatus::kNotChecked) {
    // Only these leave a decision open; other not-checked entries follow from an earlier failure.
    if (id == "key-state" || id == "issuer-binding" || id == "seal-format" || id == "references")
      return Verdict::kIndeterminate;
    return Verdict::kValid;
  }
  if (id == "limits") return Verdict::kIndeterminate;
  if (id == "coverage" || id == "modifications") return Verdict::kModified;
  if (id == "seal-format") return Verdict::kIndeterminate;
  if (id == "chain" || id == "maker-chain")
    return c.detail.find("does not chain to a trusted") != std::string::npos
               ? Verdict::kUnknownSigner
               : Verdict::kInvalid;
  if (id == "key-state" && s != nullptr && s->key_state_verdict) return *s->key_state_verdict;
  return Verdict::kInvalid;
}

struct SigWork {
  SignatureReport rep;
  SignatureXml sx;
  bool parsed = false;
  std::set<std::string> bad_refs;  // files whose check value failed
  std::set<std::string> own;       // this signature's Signature.xml, SignedValue.dat, Seal.esl
};

void verify_one(SigWork& w, const Package& pkg, const std::string& path, const DocRefs& refs,
                const TrustStore& trust, const VerifyOptions& opts, std::int64_t now) {
  auto& checks = w.rep.checks;
  const std::string* sxb = pkg.find(path);
  if (sxb == nullptr) {
    add(checks, "signature-xml", CheckStatus::kFail, path + " is listed but missing");
    return;
  }
  try {
    w.sx = read_signature_xml(*sxb, path);
  } catch (const Error& e) {
    add(checks, "signature-xml", CheckStatus::kFail, e.what());
    return;
  }
  w.parsed = true;
  w.own = {path, w.sx.signed_value_loc};
  if (w.sx.seal_loc) w.own.insert(*w.sx.seal_loc);
  add(checks, "signature-xml", CheckStatus::kPass,
      std::to_string(w.sx.refs.size()) + " references, stamp on page ID " + w.sx.page_ref +
          " at " + w.sx.boundary);

  // 1. References: the raw bytes of every protected file (no canonicalisation).
  {
    std::string fails;
    if (!is_sm3_method(w.sx.check_method)) {
      // e.g. "1.2.156.10197.1.401.2" (dms360): values that are not plain SM3 of the file — what
      // they are is not known here, so the references cannot be decided (INDETERMINATE).
      add(checks, "references", CheckStatus::kNotChecked,
          "CheckMethod '" + w.sx.check_method + "' is not supported (SM3 only)");
    } else {
      std::set<std::string> seen;
      for (const auto& r : w.sx.refs) {
        const std::string* f = pkg.find(r.file);
        std::string why;
        if (!seen.insert(r.file).second) why = "referenced twice";
        else if (f == nullptr) why = "missing";
        else if (!r.value_ok) why = "CheckValue is not base64";
        else if (sm3(*f) != r.value) why = "SM3 differs";
        if (!why.empty()) {
          w.bad_refs.insert(r.file);
          fails += (fails.empty() ? "" : "; ") + r.raw + ": " + why;
        }
      }
      add(checks, "references", fails.empty() ? CheckStatus::kPass : CheckStatus::kFail,
          fails.empty() ? std::to_string(w.sx.refs.size()) + " files, SM3 check values match"
                        : fails);
    }
  }
  // 2. SignedValue.dat and the seal inside it.
  const std::string* svb = pkg.find(w.sx.signed_value_loc);
  if (svb == nullptr) {
    add(checks, "signature", CheckStatus::kFail, w.sx.signed_value_loc + " is missing");
    return;
  }
  SesSignature sv;
  try {
    sv = parse_ses_signature(*svb);
  } catch (const Error& e) {
    add(checks, "seal-format", CheckStatus::kFail, std::string("SignedValue.dat: ") + e.what());
    return;
  }
  if (sv.version != 4) {
    // GM/T 0031-2014 (v1/v2) and GM/T 0031-2025 (v5) layouts: recognised, not verified here.
    add(checks, "seal-format", CheckStatus::kNotChecked,
        "the signature is " + sv.format + ": recognised, not supported by this verifier");
    return;
  }
  SesSeal seal;
  try {
    seal = parse_ses_seal(sv.seal_der);
  } catch (const Error& e) {
    add(checks, "seal-format", CheckStatus::kFail, std::string("embedded seal: ") + e.what());
    return;
  }
  if (seal.version != 4) {
    add(checks, "seal-format", CheckStatus::kNotChecked,
        "the embedded seal is " + seal.format + ": recognised, not supported by this verifier");
    return;
  }
  add(checks, "seal-format", CheckStatus::kPass,
      "GB/T 38540-2020 v4 seal '" + seal.name + "', esID " + seal.es_id);
  w.rep.signing_time_unix = sv.time;
  w.rep.signing_time = gmt(sv.time, "%Y-%m-%dT%H:%M:%SZ");
  w.rep.signing_time_source = "claimed (TBS_Sign.timeInfo, no time-stamp)";
  w.rep.sub_filter = "GB/T 38540-2020 v4";
  w.rep.digest_algorithm = "sm3";
  w.rep.signer_subject = subject_of(sv.signer_cert, &w.rep.department);
  {
    const auto* p = reinterpret_cast<const unsigned char*>(sv.signer_cert.data());
    ossl::X509Ptr c(d2i_X509(nullptr, &p, static_cast<long>(sv.signer_cert.size())));
    if (c) {
      if (BIGNUM* bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(c.get()), nullptr)) {
        char* h = BN_bn2hex(bn);
        if (h != nullptr) w.rep.cert_serial = h;
        OPENSSL_free(h);
        BN_free(bn);
      }
      struct tm tm {};
      if (ASN1_TIME_to_tm(X509_get0_notBefore(c.get()), &tm) == 1)
        w.rep.cert_not_before = gmt(timegm(&tm), "%Y-%m-%dT%H:%M:%SZ");
      if (ASN1_TIME_to_tm(X509_get0_notAfter(c.get()), &tm) == 1)
        w.rep.cert_not_after = gmt(timegm(&tm), "%Y-%m-%dT%H:%M:%SZ");
      unsigned char md[EVP_MAX_MD_SIZE];
      unsigned int len = 0;
      X509_digest(c.get(), EVP_sha256(), md, &len);
      w.rep.cert_sha256 = hex(std::string(reinterpret_cast<char*>(md), len));
    }
    ERR_clear_error();
  }
  // 3. Seal.esl == the seal inside the signature.
  if (w.sx.seal_loc) {
    const std::string* esl = pkg.find(*w.sx.seal_loc);
    add(checks, "seal-match", esl != nullptr && *esl == sv.seal_der ? CheckStatus::kPass : CheckStatus::kFail,
        esl == nullptr ? *w.sx.seal_loc + " is missing"
        : *esl == sv.seal_der ? "Seal.esl is the seal inside SignedValue.dat"
                              : "Seal.esl differs from the seal inside SignedValue.dat");
  } else {
    add(checks, "seal-match", CheckStatus::kPass, "no Seal.esl named; the embedded seal is used");
  }
  // 4. dataHash = SM3(Signature.xml).
  add(checks, "data-hash", sm3(*sxb) == sv.data_hash ? CheckStatus::kPass : CheckStatus::kFail,
      sm3(*sxb) == sv.data_hash ? "dataHash is the SM3 of Signature.xml"
                                : "dataHash is not the SM3 of Signature.xml (edited after signing)");
  if (sv.property_info != "/" + path && sv.property_info != path)
    add(checks, "property-info", CheckStatus::kWarn,
        "propertyInfo '" + sv.property_info + "' does not name " + path);
  // 5. Signer signature over DER(TBS_Sign), with the distinguishing ID.
  const bool sig_ok = sv.sign_alg == kOidSm2WithSm3 &&
                      sm2_verify(sv.signer_cert, sv.tbs_der, sv.signature);
  add(checks, "signature", sig_ok ? CheckStatus::kPass : CheckStatus::kFail,
      sig_ok ? "SM2-with-SM3 signature over TBS_Sign verifies (ID 1234567812345678)"
      : sv.sign_alg != kOidSm2WithSm3
          ? "signature algorithm " + sv.sign_alg + " is not SM2-with-SM3"
          : "the SM2 signature over TBS_Sign does not verify with the distinguishing ID "
            "1234567812345678");
  // 6. The signer's certificate is one the seal lists.
  {
    bool in = false;
    if (seal.cert_list_type == 1) {
      in = std::find(seal.certs.begin(), seal.certs.end(), sv.signer_cert) != seal.certs.end();
    } else {
      for (const auto& [alg, value] : seal.cert_digests) {
        in = in || value == sm3(sv.signer_cert);
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned int len = 0;
        if (EVP_Digest(sv.signer_cert.data(), sv.signer_cert.size(), md, &len, EVP_sha256(), nullptr) == 1)
          in = in || value == std::string(reinterpret_cast<char*>(md), len);
      }
    }
    add(checks, "cert-in-seal", in ? CheckStatus::kPass : CheckStatus::kFail,
        in ? "the signer certificate is in the seal's list"
           : "the signer certificate is not in the seal's certificate list");
  }
  // 7. The maker's signature over DER(SES_SealInfo).
  const bool maker_ok = seal.sign_alg == kOidSm2WithSm3 &&
                        sm2_verify(seal.maker_cert, seal.seal_info_der, seal.maker_signature);
  add(checks, "seal-signature", maker_ok ? CheckStatus::kPass : CheckStatus::kFail,
      maker_ok ? "the seal maker's SM2 signature over SES_SealInfo verifies"
               : "the seal maker's signature over SES_SealInfo does not verify");
  // 8. Seal validity at the signing time; the time itself.
  {
    const bool in = seal.valid_start <= sv.time && sv.time <= seal.valid_end;
    add(checks, "seal-validity", in ? CheckStatus::kPass : CheckStatus::kFail,
        std::string(in ? "signed within" : "signed outside") + " the seal's validity " +
            gmt(seal.valid_start, "%Y-%m-%d") + " .. " + gmt(seal.valid_end, "%Y-%m-%d"));
    const bool future = sv.time > now + opts.max_clock_skew;
    add(checks, "signing-time", future ? CheckStatus::kFail : CheckStatus::kPass,
        future ? "timeInfo lies in the future" : "timeInfo " + w.rep.signing_time);
  }
  // 9. Chains (signer and maker) at the signing time, and their roles.
  const ChainResult sc = sm2_chain(sv.signer_cert, trust, sv.time);
  add(checks, "chain", sc.ok ? CheckStatus::kPass : CheckStatus::kFail, sc.detail);
  const ChainResult mc = sm2_chain(seal.maker_cert, trust, sv.time);
  add(checks, "maker-chain", mc.ok ? CheckStatus::kPass : CheckStatus::kFail,
      "seal maker: " + mc.detail);
  if (mc.ok) {
    const CertificateRole mr = certificate_role(seal.maker_cert);
    add(checks, "maker-role", mr.role == CertRole::kSealMaker ? CheckStatus::kPass : CheckStatus::kFail,
        mr.role == CertRole::kSealMaker ? mr.why
                                        : "the seal was made by a certificate that is not a seal "
                                          "maker (" + std::string(to_string(mr.role)) + "): " + mr.why);
  }
  const CertificateRole role = certificate_role(sv.signer_cert);
  w.rep.role = std::string(to_string(role.role));
  if (role.role == CertRole::kSeal) w.rep.uscc = role.uscc;
  if (!sc.ok) {
    add(checks, "signer-role", CheckStatus::kNotChecked, "the signer is not trusted");
    return;
  }
  add(checks, "signer-role", role.role == CertRole::kSeal ? CheckStatus::kPass : CheckStatus::kFail,
      role.why);
  if (role.role != CertRole::kSeal) return;
  // 10. The seal's department is the licence's issuer (or a co-issuer it lists).
  if (refs.issuer_code.empty()) {
    add(checks, "issuer-binding", CheckStatus::kNotChecked,
        "the document names no issuer (OFD.xml CustomData IssuingAuthorityCode)");
  } else {
    const bool ok = role.uscc == refs.issuer_code ||
                    std::find(refs.co_issuer_codes.begin(), refs.co_issuer_codes.end(),
                              role.uscc) != refs.co_issuer_codes.end();
    add(checks, "issuer-binding", ok ? CheckStatus::kPass : CheckStatus::kFail,
        ok ? "the seal's department " + role.uscc + " issues this licence"
           : "a seal of department " + role.uscc + " on a licence of " + refs.issuer_code);
  }
  // 11. Key state from the trust data.
  if (opts.keys == nullptr) {
    add(checks, "key-state", CheckStatus::kNotChecked, "no trust data (key states) given");
  } else if (auto st = opts.keys->lookup(w.rep.cert_sha256)) {
    using S = SealKeyState::State;
    w.rep.key_version = st->version;
    w.rep.key_state = st->state == S::kActive    ? "active"
                      : st->state == S::kRetired ? "retired"
                      : st->state == S::kRevoked ? "revoked"
                                                 : "pending";
    std::string why;
    if (st->state == S::kPending) {
      why = "the key is pending";
      w.rep.key_state_verdict = Verdict::kInvalid;
    } else if (st->state == S::kRevoked && st->compromised_at && *st->compromised_at <= sv.time) {
      why = "the key was compromised at or before the signing time";
      w.rep.key_state_verdict = Verdict::kRevoked;
    } else if ((st->usage_from && sv.time < *st->usage_from) ||
               (st->usage_until && sv.time > *st->usage_until)) {
      why = "signed outside the key's usage window";
      w.rep.key_state_verdict = Verdict::kInvalid;
    }
    add(checks, "key-state", why.empty() ? CheckStatus::kPass : CheckStatus::kFail,
        why.empty() ? "key " + st->version + " " + w.rep.key_state : why);
  } else {
    w.rep.key_state_verdict = Verdict::kUnknownSigner;
    add(checks, "key-state", CheckStatus::kFail, "the trust data does not know this seal key");
  }
}

}  // namespace

VerificationReport verify_ofd(std::string_view in, const TrustStore& trust,
                              const VerifyOptions& opts) {
  VerificationReport rep;
  rep.file_size = static_cast<std::int64_t>(in.size());
  const SystemClock sys;
  const std::int64_t now = (opts.clock != nullptr ? opts.clock : &sys)->now();
  auto finish = [&rep]() {
    Verdict v = Verdict::kValid;
    for (const auto& c : rep.checks) {
      const Verdict cv = verdict_of(c, nullptr);
      if (cv != Verdict::kValid) {
        v = worst(v, cv);
        if (c.status == CheckStatus::kFail) rep.reasons.push_back(c.id + ": " + c.detail);
      }
    }
    for (auto& s : rep.signatures) {
      Verdict sv = Verdict::kValid;
      for (const auto& c : s.checks) {
        const Verdict cv = verdict_of(c, &s);
        if (cv != Verdict::kValid) {
          sv = worst(sv, cv);
          if (c.status == CheckStatus::kFail)
            rep.reasons.push_back("signature '" + s.field_name + "': " + c.id + ": " + c.detail);
        }
      }
      s.result = sv;
      v = worst(v, sv);
    }
    rep.result = v;
    return rep;
  };
  if (in.size() > opts.max_file_size) {
    add(rep.checks, "limits", CheckStatus::kFail, "file larger than max_file_size");
    return finish();
  }
  Package pkg;
  DocRefs refs;
  SigList list;
  try {
    ofd::ZipLimits lim;
    lim.max_total_size = std::max<std::size_t>(opts.max_file_size * 4, 1u << 20);
    lim.max_entry_size = std::min(lim.max_entry_size, lim.max_total_size);
    pkg.entries = ofd::zip_read(in, lim);
    refs = read_ofd_xml(pkg);
    if (refs.signatures) list = read_signatures(pkg, *refs.signatures);
  } catch (const Error& e) {
    add(rep.checks, e.code() == ErrorCode::kLimitExceeded ? "limits" : "structure",
        CheckStatus::kFail, e.what());
    return finish();
  }
  add(rep.checks, "structure", CheckStatus::kPass,
      std::to_string(pkg.entries.size()) + " files, consistent ZIP, OFD.xml readable");
  rep.issuer_code = refs.issuer_code;
  rep.co_issuer_codes = refs.co_issuer_codes;
  if (list.sigs.empty()) {
    add(rep.checks, "signatures-present", CheckStatus::kFail, "the document has no signature");
    return finish();
  }
  if (list.sigs.size() > opts.max_signatures) {
    add(rep.checks, "limits", CheckStatus::kFail, "more signatures than max_signatures");
    return finish();
  }
  add(rep.checks, "signatures-present", CheckStatus::kPass,
      std::to_string(list.sigs.size()) + " signature(s) listed");

  std::vector<SigWork> work(list.sigs.size());
  for (std::size_t i = 0; i < list.sigs.size(); ++i) {
    work[i].rep.field_name = "/" + list.sigs[i].path;
    verify_one(work[i], pkg, list.sigs[i].path, refs, trust, opts, now);
  }
  // Files that any listed signature owns (its Signature.xml, SignedValue.dat, Seal.esl), and the
  // signature list itself: the only files a signature may leave unprotected.
  std::set<std::string> exempt;
  if (refs.signatures) exempt.insert(*refs.signatures);
  for (const auto& w : work) exempt.insert(w.own.begin(), w.own.end());
  for (const auto& s : list.sigs) exempt.insert(s.path);
  std::string unprotected, entry_unprotected;
  for (std::size_t i = 0; i < work.size(); ++i) {
    if (!work[i].parsed) continue;
    std::set<std::string> covered;
    for (const auto& r : work[i].sx.refs) covered.insert(r.file);
    for (const auto& e : pkg.entries) {
      if (covered.count(e.name) || exempt.count(e.name)) continue;
      const std::string what = work[i].rep.field_name + " leaves " + e.name + " unprotected";
      if (e.name == "OFD.xml") {
        // Tax e-invoices leave the entry file out of the references. It only points at the
        // (protected) document, but it carries the licence's issuer: a seal that does not protect
        // it cannot be bound to that issuer (issuer-binding becomes not-checked below).
        entry_unprotected += (entry_unprotected.empty() ? "" : "; ") + what;
        if (Check* ib = find_check(work[i].rep.checks, "issuer-binding");
            ib != nullptr && ib->status == CheckStatus::kPass) {
          ib->status = CheckStatus::kNotChecked;
          ib->detail = "OFD.xml, which names the issuer, is not protected by this seal";
        }
        continue;
      }
      unprotected += (unprotected.empty() ? "" : "; ") + what;
    }
    // A changed file that a later, intact signature protects: changed after this seal (MODIFIED),
    // not a broken seal.
    if (work[i].bad_refs.empty()) continue;
    std::string by;
    bool all_later = true;
    for (const auto& f : work[i].bad_refs) {
      // Adding a later seal changes the signature list by necessity (GB/T 38540 leaves it to the
      // producer whether a seal protects it; one that does is broken by the next seal).
      bool found = refs.signatures && f == *refs.signatures && i + 1 < work.size();
      if (found) by = work[i + 1].rep.field_name;
      for (std::size_t j = i + 1; j < work.size() && !found; ++j) {
        if (!work[j].parsed || work[j].bad_refs.count(f)) continue;
        const Check* sig = nullptr;
        for (const auto& c : work[j].rep.checks)
          if (c.id == "signature") sig = &c;
        if (sig == nullptr || sig->status != CheckStatus::kPass) continue;
        for (const auto& r : work[j].sx.refs) found = found || r.file == f;
        if (found) by = work[j].rep.field_name;
      }
      all_later = all_later && found;
    }
    if (all_later) {
      Check* c = find_check(work[i].rep.checks, "references");
      c->status = CheckStatus::kPass;
      c->detail = "every changed file was changed by a later seal: see modifications";
      add(work[i].rep.checks, "modifications", CheckStatus::kFail,
          "a file this seal protects was changed later (by " + by + ")");
    }
  }
  if (!unprotected.empty())
    add(rep.checks, "coverage", CheckStatus::kFail, unprotected);
  else if (!entry_unprotected.empty())
    add(rep.checks, "coverage", CheckStatus::kWarn, entry_unprotected);
  else
    add(rep.checks, "coverage", CheckStatus::kPass,
        "every file is protected by every signature (except signature files)");
  for (auto& w : work) rep.signatures.push_back(std::move(w.rep));
  return finish();
}

}  // namespace libcert
