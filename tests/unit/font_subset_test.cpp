// Font subsets (font_subset.h): each subset is parsed again by HarfBuzz as an independent font and
// compared with the source face glyph by glyph (outline extents, advances).
#include "font_subset.h"

#include <gtest/gtest.h>
#include <hb-ot.h>

#include <filesystem>
#include <thread>

#include "libcert/error.h"

namespace {

using libcert::Error;
using libcert::ErrorCode;
namespace font = libcert::font;

const char* kUming = "/usr/share/fonts/truetype/arphic/uming.ttc";
const char* kTibetan = "/usr/share/fonts/truetype/noto/NotoSerifTibetan-Regular.ttf";
const char* kCjkCff = "/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc";

// A source face, for looking glyphs up by character and reading reference outlines.
struct Source {
  font::HbBlob blob;
  font::HbFace face;
  font::HbFont font;
  Source(const char* file, unsigned index)
      : blob(hb_blob_create_from_file_or_fail(file)),
        face(hb_face_create(blob.get(), index)),
        font(hb_font_create(face.get())) {}
  std::uint32_t glyph(char32_t c) const {
    hb_codepoint_t g = 0;
    EXPECT_TRUE(hb_font_get_nominal_glyph(font.get(), c, &g)) << static_cast<unsigned>(c);
    return g;
  }
};

// The subset as HarfBuzz reads it from its bytes alone.
struct Parsed {
  font::HbBlob blob;
  font::HbFace face;
  font::HbFont font;
  explicit Parsed(const std::string& data)
      : blob(hb_blob_create(data.data(), static_cast<unsigned>(data.size()),
                            HB_MEMORY_MODE_READONLY, nullptr, nullptr)),
        face(hb_face_create(blob.get(), 0)),
        font(hb_font_create(face.get())) {}
};

hb_glyph_extents_t extents(hb_font_t* f, std::uint32_t g) {
  hb_glyph_extents_t e{};
  EXPECT_TRUE(hb_font_get_glyph_extents(f, g, &e)) << "glyph " << g;
  return e;
}

void expect_same_glyph(const Source& src, std::uint32_t old_id, const Parsed& sub,
                       std::uint32_t new_id) {
  const hb_glyph_extents_t a = extents(src.font.get(), old_id);
  const hb_glyph_extents_t b = extents(sub.font.get(), new_id);
  EXPECT_EQ(a.x_bearing, b.x_bearing) << old_id << " -> " << new_id;
  EXPECT_EQ(a.y_bearing, b.y_bearing) << old_id << " -> " << new_id;
  EXPECT_EQ(a.width, b.width) << old_id << " -> " << new_id;
  EXPECT_EQ(a.height, b.height) << old_id << " -> " << new_id;
  EXPECT_NE(a.width, 0) << "a glyph with an outline";
  EXPECT_EQ(hb_font_get_glyph_h_advance(src.font.get(), old_id),
            hb_font_get_glyph_h_advance(sub.font.get(), new_id));
}

TEST(FontSubset, TrueTypeCjkKeepsOutlinesAndAdvances) {
  Source src(kUming, 0);
  const std::vector<std::uint32_t> ids = {src.glyph(U'证'), src.glyph(U'照'), src.glyph(U'藏'),
                                          src.glyph(U'阿'), src.glyph(U'证')};
  font::SubsetFace face(kUming, 0);
  EXPECT_EQ(face.outlines(), font::Outlines::kTrueType);
  EXPECT_EQ(face.metrics().units_per_em, hb_face_get_upem(src.face.get()));
  const font::FontSubset s = face.subset(ids, {});
  EXPECT_EQ(s.outlines, font::Outlines::kTrueType);
  EXPECT_FALSE(s.cid_keyed);
  EXPECT_EQ(s.units_per_em, hb_face_get_upem(src.face.get()));
  // .notdef + 4 distinct glyphs, ids dense from 0 in the order of the source ids.
  ASSERT_EQ(s.glyph_count, 5U);
  ASSERT_EQ(s.glyphs.size(), 5U);
  EXPECT_EQ(s.glyphs[0].old_id, 0U);
  EXPECT_EQ(s.glyphs[0].new_id, 0U);
  for (std::size_t i = 1; i < s.glyphs.size(); ++i) {
    EXPECT_EQ(s.glyphs[i].new_id, i);
    EXPECT_LT(s.glyphs[i - 1].old_id, s.glyphs[i].old_id);
  }
  Parsed sub(s.data);
  ASSERT_EQ(hb_face_get_glyph_count(sub.face.get()), 5U);
  for (std::uint32_t id : ids) {
    expect_same_glyph(src, id, sub, s.new_id(id));
    EXPECT_EQ(s.advance(id), hb_font_get_glyph_h_advance(src.font.get(), id));
  }
  // A small font: four CJK glyphs of a 17 MB collection.
  EXPECT_LT(s.data.size(), 8000U);
  EXPECT_FALSE(s.table("glyf").empty());
  EXPECT_TRUE(s.table("CFF ").empty());
  // Hints and layout tables dropped by default.
  EXPECT_TRUE(s.table("fpgm").empty());
  EXPECT_TRUE(s.table("GSUB").empty());
  EXPECT_THROW((void)s.new_id(src.glyph(U'中')), Error);
  EXPECT_EQ(face.nominal_glyph(U'证'), ids[0]);
  EXPECT_EQ(face.nominal_glyph(U'\U0010FFFD'), 0U);
}

TEST(FontSubset, RetainGidsKeepsIds) {
  Source src(kTibetan, 0);
  // Glyphs of a shaped Tibetan stack and a few letters, as a layout would carry them.
  const std::vector<std::uint32_t> ids = {src.glyph(U'ཀ'), src.glyph(U'ྲ'), src.glyph(U'ི'),
                                          src.glyph(U'་')};
  font::SubsetFace face(kTibetan, 0);
  font::SubsetOptions o;
  o.retain_gids = true;
  const font::FontSubset s = face.subset(ids, o);
  Parsed sub(s.data);
  const std::uint32_t max_id = *std::max_element(ids.begin(), ids.end());
  EXPECT_EQ(s.glyph_count, max_id + 1);
  EXPECT_EQ(hb_face_get_glyph_count(sub.face.get()), max_id + 1);
  for (std::uint32_t id : ids) {
    EXPECT_EQ(s.new_id(id), id);
    if (extents(src.font.get(), id).width != 0) expect_same_glyph(src, id, sub, id);
  }
}

TEST(FontSubset, SharedFaceIsCachedAndThreadSafe) {
  auto a = font::SubsetFace::get(kTibetan, 0);
  auto b = font::SubsetFace::get(kTibetan, 0);
  EXPECT_EQ(a.get(), b.get());
  Source src(kTibetan, 0);
  const std::vector<std::uint32_t> ids = {src.glyph(U'བ'), src.glyph(U'ོ'), src.glyph(U'ད')};
  const std::string reference = a->subset(ids, {}).data;
  std::vector<std::thread> threads;
  std::vector<int> same(4, 0);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 25; ++i) same[static_cast<std::size_t>(t)] += a->subset(ids, {}).data == reference;
    });
  }
  for (auto& th : threads) th.join();
  for (int n : same) EXPECT_EQ(n, 25);
}

TEST(FontSubset, CffCjkDesubroutinised) {
  if (!std::filesystem::exists(kCjkCff)) GTEST_SKIP() << "fonts-noto-cjk not installed";
  // Face 0 of Noto Serif CJK's collection; its CFF is CID-keyed.
  Source src(kCjkCff, 0);
  const std::vector<std::uint32_t> ids = {src.glyph(U'证'), src.glyph(U'照'), src.glyph(U'藏')};
  font::SubsetFace face(kCjkCff, 0);
  EXPECT_EQ(face.outlines(), font::Outlines::kCff);
  const font::FontSubset s = face.subset(ids, {});
  EXPECT_EQ(s.outlines, font::Outlines::kCff);
  EXPECT_TRUE(s.cid_keyed);
  EXPECT_FALSE(s.table("CFF ").empty());
  Parsed sub(s.data);
  for (std::uint32_t id : ids) expect_same_glyph(src, id, sub, s.new_id(id));
  // The charset keeps each glyph's CID (a PDF CIDFontType0 addresses the glyphs by it): Noto
  // CJK is Adobe-Identity-0 with CID = glyph id, so the subset's CIDs are the source ids.
  ASSERT_EQ(s.cids.size(), s.glyph_count);
  EXPECT_EQ(s.cids[0], 0U);
  for (std::uint32_t id : ids) {
    EXPECT_NE(s.new_id(id), id);
    EXPECT_EQ(s.cid(id), id);
  }
  // Without subroutines and hints three glyphs take a few KB, not Noto CJK's ~55 KB of subrs.
  EXPECT_LT(s.data.size(), 6000U);
}

TEST(FontSubset, BadInputIsRefusedWithSpecificErrors) {
  try {
    font::SubsetFace f("/nonexistent/font.ttf", 0);
    FAIL() << "loaded a missing file";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kNotFound);
  }
  try {
    font::SubsetFace f(kTibetan, 3);
    FAIL() << "loaded face 3 of a single-face file";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kRender);
  }
  font::SubsetFace face(kTibetan, 0);
  const std::vector<std::uint32_t> bad = {face.glyph_count()};
  try {
    (void)face.subset(bad, {});
    FAIL() << "subset a glyph id past the end";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kRender);
    EXPECT_NE(std::string(e.what()).find("does not exist"), std::string::npos) << e.what();
  }
}

}  // namespace
