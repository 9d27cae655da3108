// Unit tests of the strict PDF reader / incremental writer (libcert/pdf.h).
#include "libcert/pdf.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "libcert/error.h"
#include "support/process.h"

namespace pdf = libcert::pdf;
using libcert::Error;
using libcert::ErrorCode;

namespace {

// Builds a classic-xref PDF from object bodies (object i+1 = bodies[i]) with exact offsets.
std::string make_pdf(const std::vector<std::string>& bodies, const std::string& trailer_extra = "",
                     const std::string& root = "1 0 R") {
  std::string out = "%PDF-1.7\n%\xE2\xE3\xCF\xD3\n";
  std::vector<std::size_t> offs;
  for (std::size_t i = 0; i < bodies.size(); ++i) {
    offs.push_back(out.size());
    out += std::to_string(i + 1) + " 0 obj\n" + bodies[i] + "\nendobj\n";
  }
  const std::size_t xref = out.size();
  out += "xref\n0 " + std::to_string(bodies.size() + 1) + "\n0000000000 65535 f\r\n";
  for (std::size_t o : offs) {
    char e[32];
    std::snprintf(e, sizeof e, "%010zu 00000 n\r\n", o);
    out += e;
  }
  out += "trailer\n<< /Size " + std::to_string(bodies.size() + 1) + " /Root " + root +
         trailer_extra + " >>\nstartxref\n" + std::to_string(xref) + "\n%%EOF\n";
  return out;
}

std::string content_stream(const std::string& data, bool indirect_length) {
  return "<< /Length " + (indirect_length ? std::string("5 0 R") : std::to_string(data.size())) +
         " >>\nstream\n" + data + "\nendstream";
}

// catalog(1) pages(2) page(3) content(4) length(5)
std::string simple_pdf() {
  const std::string data = "BT /F1 12 Tf 72 720 Td (Hello) Tj ET";
  return make_pdf({"<< /Type /Catalog /Pages 2 0 R >>", "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
                   "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595.28 841.89] /Contents 4 0 R >>",
                   content_stream(data, true), std::to_string(data.size())});
}

ErrorCode code_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.code();
  }
  ADD_FAILURE() << "no libcert::Error thrown";
  return ErrorCode::kInternal;
}

std::string message_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST(PdfObjects, ParsesAllKinds) {
  const pdf::Object o = pdf::parse_object(
      "<< /Int -42 /Real .5 /Neg -3.25 /Str (a\\(b\\)\\n\\101\\\r\nz) /Hex <48656C6C6F7> "
      "/Name /A#20B#2F /Arr [1 2 0 R true false null] /Nested << /K [[/X]] >> >>");
  const pdf::Dict& d = o.as_dict();
  EXPECT_EQ(d.get("Int")->as_int(), -42);
  EXPECT_DOUBLE_EQ(d.get("Real")->as_number(), 0.5);
  EXPECT_DOUBLE_EQ(d.get("Neg")->as_number(), -3.25);
  EXPECT_EQ(d.get("Str")->as_string().bytes, "a(b)\nAz");  // escape, octal, line continuation
  EXPECT_EQ(d.get("Hex")->as_string().bytes, "Hellop");    // odd digit count: final 0 (§7.3.4.3)
  EXPECT_TRUE(d.get("Hex")->as_string().hex);
  EXPECT_EQ(d.get("Name")->as_name(), "A B/");
  const pdf::Array& a = d.get("Arr")->as_array();
  ASSERT_EQ(a.size(), 5U);
  EXPECT_EQ(a[0].as_int(), 1);
  EXPECT_EQ(a[1].as_ref(), (pdf::Ref{2, 0}));
  EXPECT_TRUE(a[2].as_bool());
  EXPECT_FALSE(a[3].as_bool());
  EXPECT_TRUE(a[4].is_null());
  EXPECT_EQ(d.get("Nested")->as_dict().get("K")->as_array()[0].as_array()[0].as_name(), "X");
}

TEST(PdfObjects, SerializeRoundTrips) {
  pdf::Dict d;
  d.set("Name", pdf::Name{"A B#(x)"});
  d.set("Str", pdf::String{std::string("p(a)r\\\n\xE4", 9), false});
  d.set("Hex", pdf::String{std::string("\x00\xFF", 2), true});
  d.set("Real", 1.5);
  d.set("Int", std::int64_t{-7});
  d.set("Ref", pdf::Ref{12, 3});
  d.set("Arr", pdf::Array{pdf::Object(true), pdf::Object(), pdf::Object(0.125)});
  const std::string text = pdf::serialize(pdf::Object(d));
  EXPECT_EQ(pdf::parse_object(text), pdf::Object(d)) << text;
  EXPECT_NE(text.find("/A#20B#23#28x#29"), std::string::npos) << text;
  EXPECT_NE(text.find("<00FF>"), std::string::npos) << text;
}

TEST(PdfObjects, RejectsMalformedWithSpecificCodes) {
  EXPECT_EQ(code_of([] { (void)pdf::parse_object("<< /A 1 /A 2 >>"); }), ErrorCode::kPdfMalformed);
  EXPECT_NE(message_of([] { (void)pdf::parse_object("<< /A 1 /A 2 >>"); }).find("duplicate key /A"),
            std::string::npos);
  EXPECT_EQ(code_of([] { (void)pdf::parse_object("(abc"); }), ErrorCode::kPdfMalformed);
  EXPECT_EQ(code_of([] { (void)pdf::parse_object("<4G>"); }), ErrorCode::kPdfMalformed);
  EXPECT_EQ(code_of([] { (void)pdf::parse_object("1.2.3"); }), ErrorCode::kPdfMalformed);
  EXPECT_EQ(code_of([] { (void)pdf::parse_object("99999999999999999999"); }),
            ErrorCode::kPdfMalformed);
  EXPECT_EQ(code_of([] { (void)pdf::parse_object("<< 1 2 >>"); }), ErrorCode::kPdfMalformed);
  EXPECT_EQ(code_of([] { (void)pdf::parse_object("/A#4"); }), ErrorCode::kPdfMalformed);
  EXPECT_EQ(code_of([] { (void)pdf::parse_object(std::string(100, '[') + std::string(100, ']')); }),
            ErrorCode::kLimitExceeded);
  EXPECT_EQ(code_of([] { (void)pdf::parse_object("1").as_dict(); }), ErrorCode::kPdfMalformed);
}

TEST(PdfDocument, ReadsClassicFile) {
  const std::string bytes = simple_pdf();
  const pdf::Document doc = pdf::Document::open(bytes);
  ASSERT_EQ(doc.revisions().size(), 1U);
  EXPECT_EQ(doc.revisions()[0].end, bytes.size());
  EXPECT_FALSE(doc.revisions()[0].xref_stream);
  EXPECT_EQ(doc.revisions()[0].objects, (std::vector<std::uint32_t>{1, 2, 3, 4, 5}));
  EXPECT_EQ(doc.size(), 6U);
  EXPECT_TRUE(doc.catalog().get("Type")->is_name("Catalog"));
  EXPECT_EQ(doc.page_count(), 1U);
  EXPECT_EQ(doc.page_ref(0), (pdf::Ref{3, 0}));
  const pdf::Object page = doc.object(doc.page_ref(0));
  const pdf::Object content = doc.resolve(page.as_dict().get("Contents"));
  EXPECT_EQ(content.as_stream().data, "BT /F1 12 Tf 72 720 Td (Hello) Tj ET");  // indirect /Length
  EXPECT_EQ(doc.decode(content.as_stream()), content.as_stream().data);
  EXPECT_FALSE(doc.acroform().has_value());
  EXPECT_TRUE(doc.object(77).is_null());  // absent object = null (§7.3.10)
  EXPECT_EQ(code_of([&] { (void)doc.page_ref(1); }), ErrorCode::kInvalidArgument);
  // Positions of directly parsed objects point into the file.
  const pdf::Object mb =
      page.as_dict().get("MediaBox") ? *page.as_dict().get("MediaBox") : pdf::Object();
  ASSERT_NE(mb.pos, pdf::Object::npos);
  EXPECT_EQ(bytes.substr(mb.pos, mb.end - mb.pos), "[0 0 595.28 841.89]");
}

TEST(PdfDocument, ReadsHandMadeXrefStreamAndObjectStream) {
  // Objects 1 (catalog) and 2 (pages) live in object stream 4; 3 (page) is a plain object;
  // 5 is the uncompressed xref stream with /W [1 2 1] (§7.5.8).
  std::string out = "%PDF-1.7\n";
  const std::string a = "<< /Type /Catalog /Pages 2 0 R >> ";
  const std::string b = "<< /Type /Pages /Kids [3 0 R] /Count 1 >>";
  const std::string hdr = "1 0 2 " + std::to_string(a.size()) + " ";
  const std::string objs = hdr + a + b;
  const std::size_t first = hdr.size();
  const std::size_t off3 = out.size();
  out += "3 0 obj\n<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] >>\nendobj\n";
  const std::size_t off4 = out.size();
  out += "4 0 obj\n<< /Type /ObjStm /N 2 /First " + std::to_string(first) + " /Length " +
         std::to_string(objs.size()) + " >>\nstream\n" + objs + "\nendstream\nendobj\n";
  const std::size_t off5 = out.size();
  std::string xs;
  auto rec = [&](int type, std::size_t f2, int f3) {
    xs += static_cast<char>(type);
    xs += static_cast<char>((f2 >> 8) & 0xFF);
    xs += static_cast<char>(f2 & 0xFF);
    xs += static_cast<char>(f3);
  };
  rec(0, 0, 0);
  rec(2, 4, 0);
  rec(2, 4, 1);
  rec(1, off3, 0);
  rec(1, off4, 0);
  rec(1, off5, 0);
  out += "5 0 obj\n<< /Type /XRef /Size 6 /W [1 2 1] /Root 1 0 R /Length " +
         std::to_string(xs.size()) + " >>\nstream\n" + xs + "\nendstream\nendobj\nstartxref\n" +
         std::to_string(off5) + "\n%%EOF\n";
  const pdf::Document doc = pdf::Document::open(out);
  ASSERT_EQ(doc.revisions().size(), 1U);
  EXPECT_TRUE(doc.revisions()[0].xref_stream);
  EXPECT_EQ(doc.xref_entry(2)->type, pdf::XrefEntry::Type::kInObjectStream);
  EXPECT_EQ(doc.xref_entry(2)->index, 1U);
  EXPECT_TRUE(doc.catalog().get("Type")->is_name("Catalog"));
  EXPECT_EQ(doc.page_count(), 1U);
  EXPECT_EQ(doc.object(2).pos, pdf::Object::npos);  // from an object stream: no file position
  EXPECT_DOUBLE_EQ(doc.object(3).as_dict().get("MediaBox")->as_array()[2].as_number(), 200.0);
}

TEST(PdfDocument, ReadsQpdfObjectStreamsWithFlateAndPngPredictor) {
  // qpdf (a third-party writer) makes a compressed xref stream (/Predictor 12) and object streams.
  testsupport::TempDir dir;
  testsupport::spit(dir / "in.pdf", simple_pdf());
  const auto r = testsupport::run("qpdf --object-streams=generate --compress-streams=y " +
                                  testsupport::shell_quote((dir / "in.pdf").string()) + " " +
                                  testsupport::shell_quote((dir / "out.pdf").string()));
  ASSERT_EQ(r.exit_code, 0) << r.out;
  const std::string bytes = testsupport::slurp(dir / "out.pdf");
  const pdf::Document doc = pdf::Document::open(bytes);
  EXPECT_TRUE(doc.revisions().back().xref_stream);
  const pdf::Object* dp = doc.trailer().get("DecodeParms");
  ASSERT_NE(dp, nullptr);
  EXPECT_EQ(dp->as_dict().get("Predictor")->as_int(), 12);
  bool any_objstm = false;
  for (std::uint32_t n = 1; n < doc.size(); ++n) {
    auto e = doc.xref_entry(n);
    any_objstm |= e && e->type == pdf::XrefEntry::Type::kInObjectStream;
  }
  EXPECT_TRUE(any_objstm);
  EXPECT_EQ(doc.page_count(), 1U);
  const pdf::Object page = doc.object(doc.page_ref(0));
  const pdf::Object content = doc.resolve(page.as_dict().get("Contents"));
  EXPECT_EQ(doc.decode(content.as_stream()), "BT /F1 12 Tf 72 720 Td (Hello) Tj ET");
}

TEST(PdfDocument, RejectsBrokenFilesWithSpecificCodes) {
  const std::string good = simple_pdf();
  auto open = [](const std::string& b, pdf::Limits lim = {}) {
    return [b, lim] { (void)pdf::Document::open(b, lim); };
  };
  EXPECT_EQ(code_of(open("")), ErrorCode::kPdfMalformed);
  EXPECT_EQ(code_of(open(good.substr(0, good.size() - 6))), ErrorCode::kPdfMalformed);  // no %%EOF
  EXPECT_NE(message_of(open(good + "garbage")).find("%%EOF"), std::string::npos);
  {
    std::string b = good;
    b.replace(b.rfind("startxref\n") + 10, 3, "999");
    EXPECT_EQ(code_of(open(b)), ErrorCode::kPdfMalformed);
  }
  {
    pdf::Limits lim;
    lim.max_file_size = 100;
    EXPECT_EQ(code_of(open(good, lim)), ErrorCode::kLimitExceeded);
  }
  {
    pdf::Limits lim;
    lim.max_objects = 4;
    EXPECT_EQ(code_of(open(good, lim)), ErrorCode::kLimitExceeded);
  }
  {  // /Prev pointing at itself
    std::string b = good;
    const std::size_t xref = b.rfind("xref\n0 ");
    b.replace(b.find("/Size 6"), 7, "/Size 6 /Prev " + std::to_string(xref));
    // keep startxref right: the insertion is after the xref section
    EXPECT_NE(message_of(open(b)).find("loops"), std::string::npos) << message_of(open(b));
  }
  {  // xref entry pointing at the wrong object
    const std::string b =
        make_pdf({"<< /Type /Catalog /Pages 2 0 R >>", "<< /Type /Pages /Kids [] /Count 0 >>"});
    auto entry = [](std::size_t off) {
      char e[32];
      std::snprintf(e, sizeof e, "%010zu 00000 n", off);
      return std::string(e);
    };
    std::string c = b;
    const std::size_t e = c.find(entry(b.find("1 0 obj")));
    ASSERT_NE(e, std::string::npos);
    c.replace(e, 18, entry(b.find("2 0 obj")));  // object 1's entry -> object 2's offset
    const pdf::Document doc = pdf::Document::open(c);
    EXPECT_NE(message_of([&] { (void)doc.object(1); }).find("xref points to '2 0 obj'"),
              std::string::npos);
  }
  {  // stream /Length past the end of the file
    const std::string b = make_pdf(
        {"<< /Type /Catalog /Pages 2 0 R >>", "<< /Length 99999 >>\nstream\nabc\nendstream"});
    const pdf::Document doc = pdf::Document::open(b);
    EXPECT_EQ(code_of([&] { (void)doc.object(2); }), ErrorCode::kPdfMalformed);
  }
  {  // a stream whose /Length refers to itself
    const std::string b =
        make_pdf({"<< /Type /Catalog >>", "<< /Length 2 0 R >>\nstream\nabc\nendstream"});
    const pdf::Document doc = pdf::Document::open(b);
    EXPECT_NE(message_of([&] { (void)doc.object(2); }).find("refers to itself"), std::string::npos);
  }
  {  // page tree loop
    const std::string b = make_pdf(
        {"<< /Type /Catalog /Pages 2 0 R >>", "<< /Type /Pages /Kids [2 0 R] /Count 1 >>"});
    const pdf::Document doc = pdf::Document::open(b);
    EXPECT_EQ(code_of([&] { (void)doc.page_count(); }), ErrorCode::kPdfMalformed);
  }
  {  // flate bomb bounded by max_decoded_stream: a huge /Columns predictor is rejected too
    pdf::Limits lim;
    lim.max_decoded_stream = 10;
    const pdf::Document doc = pdf::Document::open(good, lim);
    pdf::Stream s;
    s.dict.set("Filter", pdf::Name{"DCTDecode"});
    EXPECT_NE(message_of([&] { (void)doc.decode(s); }).find("unsupported filter /DCTDecode"),
              std::string::npos);
  }
}

TEST(PdfDocument, NeverCrashesOnTruncatedOrFlippedInput) {
  const std::string good = simple_pdf();
  std::size_t opened = 0, rejected = 0;
  auto attempt = [&](const std::string& b) {
    try {
      const pdf::Document doc = pdf::Document::open(b);
      (void)doc.page_count();
      for (std::uint32_t n = 1; n < doc.size(); ++n) (void)doc.object(n);
      ++opened;
    } catch (const Error& e) {
      EXPECT_TRUE(e.code() == ErrorCode::kPdfMalformed || e.code() == ErrorCode::kLimitExceeded ||
                  e.code() == ErrorCode::kInvalidArgument)
          << e.what();
      ++rejected;
    }
  };
  for (std::size_t n = 0; n <= good.size(); ++n) attempt(good.substr(0, n));
  std::mt19937 rng(42);
  for (int i = 0; i < 2000; ++i) {
    std::string b = good;
    const std::size_t p = rng() % b.size();
    b[p] = static_cast<char>(rng() & 0xFF);
    attempt(b);
  }
  EXPECT_GT(rejected, good.size() - 10);  // every real truncation is refused
  EXPECT_GT(opened, 1U);                  // the untouched file (and harmless flips) open
}

TEST(PdfUpdate, AppendsWithoutTouchingEarlierBytes) {
  const std::string bytes = simple_pdf();
  const pdf::Document doc = pdf::Document::open(bytes);
  pdf::IncrementalUpdate up(doc);
  const pdf::Ref fresh = up.allocate();
  EXPECT_EQ(fresh.num, 6U);
  pdf::Dict info;
  info.set("Producer", pdf::String{"libcert test", false});
  up.set(fresh, pdf::Object(info));
  pdf::Dict cat = doc.catalog();
  cat.set("Lang", pdf::String{"zh-CN", false});
  up.set(doc.catalog_ref(), pdf::Object(cat));
  const pdf::Output out = up.write();
  ASSERT_GT(out.pdf.size(), bytes.size());
  EXPECT_EQ(out.pdf.substr(0, bytes.size()), bytes);  // prefix byte-identical
  EXPECT_FALSE(out.signature.has_value());

  const pdf::Document after = pdf::Document::open(out.pdf);
  ASSERT_EQ(after.revisions().size(), 2U);
  EXPECT_EQ(after.revisions()[0].end, bytes.size());
  EXPECT_EQ(after.revisions()[1].end, out.pdf.size());
  EXPECT_EQ(after.revisions()[1].objects, (std::vector<std::uint32_t>{1, 6}));
  EXPECT_EQ(after.revisions()[1].trailer.get("Prev")->as_int(),
            static_cast<std::int64_t>(doc.revisions()[0].xref_offset));
  EXPECT_EQ(after.catalog().get("Lang")->as_string().bytes, "zh-CN");
  EXPECT_EQ(after.object(6).as_dict().get("Producer")->as_string().bytes, "libcert test");
  EXPECT_EQ(after.size(), 7U);
  const pdf::Document before = after.revision(0);
  EXPECT_EQ(before.bytes(), bytes);
  EXPECT_FALSE(before.catalog().has("Lang"));

  testsupport::TempDir dir;
  testsupport::spit(dir / "u.pdf", out.pdf);
  const auto r =
      testsupport::run("qpdf --check " + testsupport::shell_quote((dir / "u.pdf").string()));
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find("No syntax or stream encoding errors found"), std::string::npos) << r.out;
}

// A base whose newest section is a cross-reference stream (qpdf's rewrite, and libcert's own
// writer) gets an update whose section is a cross-reference stream too (ISO 32000-1 §7.5.8.1);
// a classic base keeps classic sections (the test above).
TEST(PdfUpdate, XrefStreamBaseGetsAnXrefStreamUpdate) {
  testsupport::TempDir dir;
  testsupport::spit(dir / "in.pdf", simple_pdf());
  auto r = testsupport::run("qpdf --object-streams=generate --compress-streams=y " +
                            testsupport::shell_quote((dir / "in.pdf").string()) + " " +
                            testsupport::shell_quote((dir / "x.pdf").string()));
  ASSERT_EQ(r.exit_code, 0) << r.out;
  const std::string bytes = testsupport::slurp(dir / "x.pdf");
  const pdf::Document doc = pdf::Document::open(bytes);
  ASSERT_TRUE(doc.revisions().back().xref_stream);
  pdf::IncrementalUpdate up(doc);
  const pdf::Ref fresh = up.allocate();
  up.set(fresh, pdf::Object(pdf::Dict{}));
  pdf::Dict cat = doc.catalog();
  cat.set("Lang", pdf::String{"zh-CN", false});
  up.set(doc.catalog_ref(), pdf::Object(cat));
  const pdf::Ref sig = up.allocate();
  pdf::Dict sd;
  sd.set("Type", pdf::Name{"Sig"});
  up.set_signature(sig, sd, 64);
  pdf::Output out = up.write();
  (void)pdf::fill_byte_range(out.pdf, *out.signature);
  EXPECT_EQ(out.pdf.substr(0, bytes.size()), bytes);
  const std::string tail = out.pdf.substr(bytes.size());
  EXPECT_EQ(tail.find("\ntrailer"), std::string::npos) << tail;  // no classic keywords
  EXPECT_EQ(tail.find("\nxref"), std::string::npos) << tail;

  const pdf::Document after = pdf::Document::open(out.pdf);
  ASSERT_EQ(after.revisions().size(), 2U);
  const pdf::Revision& rev = after.revisions()[1];
  EXPECT_TRUE(rev.xref_stream);
  EXPECT_EQ(rev.end, out.pdf.size());
  const std::uint32_t self = sig.num + 1;  // the section's own object: the next free number
  EXPECT_EQ(rev.objects,
            (std::vector<std::uint32_t>{doc.catalog_ref().num, fresh.num, sig.num, self}));
  EXPECT_EQ(rev.trailer.get("Prev")->as_int(),
            static_cast<std::int64_t>(doc.revisions()[0].xref_offset));
  EXPECT_EQ(rev.trailer.get("Size")->as_int(), static_cast<std::int64_t>(self) + 1);
  EXPECT_EQ(*rev.trailer.get("Root"), *doc.trailer().get("Root"));
  EXPECT_EQ(*rev.trailer.get("ID"), *doc.trailer().get("ID"));
  EXPECT_TRUE(after.object(self).as_stream().dict.get("Type")->is_name("XRef"));
  EXPECT_EQ(after.catalog().get("Lang")->as_string().bytes, "zh-CN");
  EXPECT_EQ(after.page_count(), 1U);
  EXPECT_EQ(after.revision(0).bytes(), bytes);
  // A second update numbers its objects after the first one's section.
  pdf::IncrementalUpdate up2(after);
  EXPECT_EQ(up2.allocate().num, self + 1);

  testsupport::spit(dir / "u.pdf", out.pdf);
  r = testsupport::run("qpdf --check " + testsupport::shell_quote((dir / "u.pdf").string()));
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find("No syntax or stream encoding errors found"), std::string::npos) << r.out;
  r = testsupport::run("mutool show " + testsupport::shell_quote((dir / "u.pdf").string()) +
                       " trailer/Root 2>&1");
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find("/Lang"), std::string::npos) << r.out;  // through /Root in the new section
}

TEST(PdfUpdate, SignaturePlaceholdersArePatchedInPlace) {
  const std::string bytes = simple_pdf();
  const pdf::Document doc = pdf::Document::open(bytes);
  pdf::IncrementalUpdate up(doc);
  const pdf::Ref sig = up.allocate();
  pdf::Dict sd;
  sd.set("Type", pdf::Name{"Sig"});
  up.set_signature(sig, sd, 100);
  pdf::Output out = up.write();
  ASSERT_TRUE(out.signature.has_value());
  const pdf::SignatureSlot slot = *out.signature;
  EXPECT_EQ(slot.capacity(), 100U);
  const std::size_t size_before = out.pdf.size();
  const pdf::ByteRange br = pdf::fill_byte_range(out.pdf, slot);
  pdf::fill_contents(out.pdf, slot, std::string("\x30\x03\x02\x01\x05", 5));
  EXPECT_EQ(out.pdf.size(), size_before);
  EXPECT_EQ(out.pdf.substr(0, bytes.size()), bytes);
  EXPECT_EQ(br.a, slot.contents_pos);
  EXPECT_EQ(br.b, slot.contents_end);
  EXPECT_EQ(br.b + br.c, out.pdf.size());

  const pdf::Document after = pdf::Document::open(out.pdf);
  const pdf::Object s = after.object(sig);
  const pdf::Array& range = s.as_dict().get("ByteRange")->as_array();
  ASSERT_EQ(range.size(), 4U);
  EXPECT_EQ(range[0].as_int(), 0);
  EXPECT_EQ(range[1].as_int(), static_cast<std::int64_t>(br.a));
  EXPECT_EQ(range[2].as_int(), static_cast<std::int64_t>(br.b));
  EXPECT_EQ(range[3].as_int(), static_cast<std::int64_t>(br.c));
  const pdf::Object* contents = s.as_dict().get("Contents");
  EXPECT_EQ(contents->pos, br.a);  // the gap is exactly the hex string
  EXPECT_EQ(contents->end, br.b);
  EXPECT_EQ(contents->as_string().bytes.substr(0, 5), std::string("\x30\x03\x02\x01\x05", 5));
  EXPECT_EQ(contents->as_string().bytes.size(), 100U);

  EXPECT_EQ(code_of([&] { pdf::fill_contents(out.pdf, slot, std::string(101, 'x')); }),
            ErrorCode::kLimitExceeded);
  pdf::Dict bad;
  bad.set("Contents", pdf::String{});
  pdf::IncrementalUpdate up2(doc);
  EXPECT_EQ(code_of([&] { up2.set_signature(up2.allocate(), bad, 10); }),
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(code_of([&] { up2.set(pdf::Ref{99, 0}, pdf::Object()); }), ErrorCode::kInvalidArgument);
}
