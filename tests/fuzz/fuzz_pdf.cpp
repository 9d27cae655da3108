// fuzz_pdf — the strict PDF reader (libcert/pdf.h) on arbitrary bytes: open the document, walk
// every revision, every object (decoding every stream), the page tree and the AcroForm; and the
// object parser + serializer, whose output must re-parse to a fixed point. Small limits keep each
// run fast; exceeding one must be Error(kLimitExceeded), never a hang.
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_support.h"
#include "libcert/pdf.h"

namespace pdf = libcert::pdf;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  pdf::Limits lim;
  lim.max_objects = 5000;
  lim.max_decoded_stream = 1u << 20;
  lim.max_revisions = 50;
  lim.max_objstm_objects = 1000;

  fuzz::run([&] {
    const pdf::Document doc = pdf::Document::open(bytes, lim);
    fuzz::require(!doc.revisions().empty(), "an opened document has a revision");
    for (const auto& r : doc.revisions()) {
      fuzz::require(r.end <= bytes.size(), "revision end inside the file");
    }
    for (std::uint32_t n = 1; n < doc.size(); ++n) {
      fuzz::run([&] {
        const pdf::Object o = doc.object(n);
        if (o.pos != pdf::Object::npos) {
          fuzz::require(o.pos <= o.end && o.end <= bytes.size(), "object span inside the file");
        }
        if (o.is(pdf::Kind::kStream)) (void)doc.decode(o.as_stream());
      });
    }
    fuzz::run([&] { (void)doc.page_refs(); });
    fuzz::run([&] { (void)doc.acroform(); });
    if (doc.revisions().size() > 1) fuzz::run([&] { (void)doc.revision(0); });
  });

  fuzz::run([&] {
    const pdf::Object o = pdf::parse_object(bytes, lim);
    const std::string once = pdf::serialize(o);
    const pdf::Object again = pdf::parse_object(once, lim);
    fuzz::require(pdf::serialize(again) == once, "serialize(parse(serialize(x))) is a fixed point");
  });
  return 0;
}
