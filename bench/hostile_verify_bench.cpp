// bench/hostile_verify_bench.cpp — the named worst cases of issue 16, each generated here and
// verified once with libcert::verify_pdf (the same call as `certctl verify`); prints the verdict,
// the failed checks and the wall time. Goal: each decided in under 2 s.
//
//   build/dev/bench/hostile_verify_bench [OUTDIR]     (OUTDIR: also write the files there)
//
//   revisions    a P=2 licence whose signed revision holds 52,000 objects, followed by updates
//                that each re-list all 52,000 (xref sections only): 60 revisions, ~60 MB
//   revisions-analysed  the same with max_objects raised so the difference analysis compares
//                every object (its linear cost, not the limit)
//   inflate-bomb an update whose page content is 200 MB of spaces deflated to ~200 KB
//   path-ops     an update whose page content has 10^6 path operators
//   huge-image   an update whose page paints a 30,000 x 30,000 grey image (900 MB decoded)
#include <zlib.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "libcert/clock.h"
#include "libcert/pdf.h"
#include "libcert/sign.h"
#include "libcert/trust_bundle.h"
#include "libcert/verify.h"
#include "support/test_pdf.h"

namespace {

namespace pdf = libcert::pdf;

std::string deflate_zeros_or(const std::string& data, std::size_t zeros) {
  z_stream z{};
  deflateInit(&z, 9);
  std::string out;
  std::vector<unsigned char> chunk(1u << 20, 0);
  std::vector<unsigned char> buf(1u << 20);
  auto pump = [&](const unsigned char* in, std::size_t n, int flush) {
    z.next_in = const_cast<unsigned char*>(in);
    z.avail_in = static_cast<uInt>(n);
    do {
      z.next_out = buf.data();
      z.avail_out = static_cast<uInt>(buf.size());
      deflate(&z, flush);
      out.append(reinterpret_cast<const char*>(buf.data()), buf.size() - z.avail_out);
    } while (z.avail_out == 0);
  };
  if (zeros == 0) {
    pump(reinterpret_cast<const unsigned char*>(data.data()), data.size(), Z_FINISH);
  } else {
    for (std::size_t left = zeros; left > 0;) {
      const std::size_t n = std::min(left, chunk.size());
      left -= n;
      pump(chunk.data(), n, left == 0 ? Z_FINISH : Z_NO_FLUSH);
    }
  }
  deflateEnd(&z);
  return out;
}

// The licence with an update giving page 1 `content` (Flate) and, optionally, an image XObject.
std::string with_content(const std::string& sealed, const std::string& content_flate,
                         const pdf::Stream* image = nullptr) {
  const auto doc = pdf::Document::open(sealed);
  const pdf::Ref page_ref = doc.page_ref(0);
  pdf::Object page = doc.object(page_ref);
  pdf::IncrementalUpdate up(doc);
  const pdf::Ref c = up.allocate();
  pdf::Stream s;
  s.dict.set("Filter", pdf::Name{"FlateDecode"});
  s.data = content_flate;
  up.set(c, pdf::Object(std::move(s)));
  page.as_dict().set("Contents", c);
  if (image != nullptr) {
    const pdf::Ref im = up.allocate();
    up.set(im, pdf::Object(*image));
    pdf::Dict xo;
    xo.set("Im9", im);
    pdf::Dict res;
    res.set("XObject", pdf::Object(xo));
    page.as_dict().set("Resources", pdf::Object(res));
  }
  up.set(page_ref, page);
  return up.write().pdf;
}

// 60 revisions x 52,000 xref entries: the signed revision defines 52,000 small objects, and each
// later update's xref section re-lists all of them at their old offsets.
std::string many_revisions(const libcert::Signer& signer, const libcert::Clock& clock) {
  constexpr std::uint32_t kObjects = 52000;
  const std::string base = testsupport::make_cairo_licence();
  std::string with_objects;
  {
    const auto doc = pdf::Document::open(base);
    pdf::IncrementalUpdate up(doc);
    for (std::uint32_t i = 0; i < kObjects; ++i) {
      pdf::Dict d;
      d.set("N", pdf::Object(static_cast<int>(i)));
      up.set(up.allocate(), pdf::Object(std::move(d)));
    }
    with_objects = up.write().pdf;
  }
  libcert::SealOptions o;
  o.clock = &clock;
  o.docmdp_p = 2;
  o.rect = {testsupport::kSealX, testsupport::kSealY, testsupport::kSealSize,
            testsupport::kSealSize};
  std::string out = libcert::seal_pdf(with_objects, signer, o);
  const auto doc = pdf::Document::open(out);
  const std::uint32_t first = pdf::Document::open(base).size();
  std::vector<std::size_t> offsets(kObjects);
  for (std::uint32_t i = 0; i < kObjects; ++i) offsets[i] = doc.xref_entry(first + i)->offset;
  const std::string root = pdf::serialize(*doc.trailer().get("Root"));
  const std::string info = pdf::serialize(*doc.trailer().get("Info"));
  std::size_t prev = doc.revisions().back().xref_offset;
  char line[32];
  for (std::size_t n = doc.revisions().size(); n < 60; ++n) {
    const std::size_t xref = out.size();
    out += "xref\n" + std::to_string(first) + " " + std::to_string(kObjects) + "\n";
    for (std::uint32_t i = 0; i < kObjects; ++i) {
      std::snprintf(line, sizeof line, "%010zu 00000 n\r\n", offsets[i]);
      out += line;
    }
    out += "trailer\n<< /Size " + std::to_string(doc.size()) + " /Root " + root + " /Info " +
           info + " /Prev " + std::to_string(prev) + " >>\nstartxref\n" + std::to_string(xref) +
           "\n%%EOF\n";
    prev = xref;
  }
  return out;
}

void run(const char* name, const std::string& bytes, const libcert::TrustStore& trust,
         const libcert::VerifyOptions& opts, const std::string& outdir) {
  if (!outdir.empty()) std::ofstream(outdir + "/" + name + ".pdf", std::ios::binary) << bytes;
  const auto t0 = std::chrono::steady_clock::now();
  const auto r = libcert::verify_pdf(bytes, trust, opts);
  const double ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  std::string failed;
  for (const auto& f : r.failed_checks()) failed += (failed.empty() ? "" : ",") + f;
  std::printf("%-20s %9.1f MB  %-14s %8.0f ms  failed: %s\n", name,
              static_cast<double>(bytes.size()) / 1e6, std::string(to_string(r.result)).c_str(), ms,
              failed.c_str());
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  const std::string outdir = argc > 1 ? argv[1] : "";
  const std::string keys = std::string(LIBCERT_SOURCE_DIR) + "/keys-example/";
  const libcert::PemFileSigner samr(keys + "seals/samr/seal.key", keys + "seals/samr/seal.crt");
  const libcert::FixedClock seal_clock(1767225600);    // 2026-01-01
  const libcert::FixedClock verify_clock(1780272000);  // 2026-06-01
  libcert::TrustStore trust;
  trust.add_path(keys + "root/root.crt");
  // The trust data (key states; trust.md): the samr seal, active. Without it every seal is
  // INDETERMINATE and the genuine case would not show what a VALID verdict costs.
  libcert::TrustBundle states;
  states.seals.push_back(libcert::SealEntry::from_certificate(
      "samr", testsupport::kUsccSamr, samr.certificate(), libcert::SealState::kActive));
  const libcert::BundleSealKeys keys_states(states);
  libcert::VerifyOptions opts;
  opts.clock = &verify_clock;
  opts.keys = &keys_states;

  libcert::SealOptions so;
  so.clock = &seal_clock;
  so.docmdp_p = 2;
  so.rect = {testsupport::kSealX, testsupport::kSealY, testsupport::kSealSize,
             testsupport::kSealSize};
  const std::string sealed = libcert::seal_pdf(testsupport::make_cairo_licence(), samr, so);
  run("genuine-p2", sealed, trust, opts, outdir);

  const std::string revs = many_revisions(samr, seal_clock);
  run("revisions", revs, trust, opts, outdir);
  libcert::VerifyOptions analysed = opts;
  analysed.max_objects = 10'000'000;
  run("revisions-analysed", revs, trust, analysed, {});

  run("inflate-bomb", with_content(sealed, deflate_zeros_or(std::string(200u << 20, ' '), 0)),
      trust, opts, outdir);

  std::string ops;
  ops.reserve(16u << 20);
  for (int i = 0; i < 1'000'000; ++i) {
    const int x = 72 + i % 400, y = 300 + (i / 400) % 400;
    ops += std::to_string(x) + " " + std::to_string(y) + " m " + std::to_string(x + 1) + " " +
           std::to_string(y + 1) + " l\n";
  }
  ops += "S\n";
  run("path-ops", with_content(sealed, deflate_zeros_or(ops, 0)), trust, opts, outdir);

  pdf::Stream image;
  image.dict.set("Type", pdf::Name{"XObject"});
  image.dict.set("Subtype", pdf::Name{"Image"});
  image.dict.set("Width", pdf::Object(30000));
  image.dict.set("Height", pdf::Object(30000));
  image.dict.set("ColorSpace", pdf::Name{"DeviceGray"});
  image.dict.set("BitsPerComponent", pdf::Object(8));
  image.dict.set("Filter", pdf::Name{"FlateDecode"});
  image.data = deflate_zeros_or(std::string(), 30000u * 30000u);
  run("huge-image",
      with_content(sealed, deflate_zeros_or("q 500 0 0 700 50 50 cm /Im9 Do Q\n", 0), &image),
      trust, opts, outdir);
  return 0;
}
