// font_subset.cpp — see font_subset.h.
#include "font_subset.h"

#include <hb-ot.h>

#include <algorithm>
#include <mutex>

#include "libcert/error.h"

namespace libcert::font {

namespace {

constexpr hb_tag_t tag_of(std::string_view t) {
  return HB_TAG(t[0], t[1], t[2], t[3]);
}

std::string blob_bytes(hb_blob_t* blob) {
  unsigned int len = 0;
  const char* p = hb_blob_get_data(blob, &len);
  return p != nullptr ? std::string(p, len) : std::string();
}

// CFF (Adobe TN #5176): is the Top DICT of the first font CID-keyed, i.e. does it begin with the
// ROS operator (12 30)? A CID-keyed CFF selects glyphs through its charset by CID (PDF 32000-1
// §9.7.4.2), which a writer must know.
bool cff_is_cid_keyed(std::string_view cff) {
  auto u8 = [&](std::size_t i) -> unsigned {
    return i < cff.size() ? static_cast<unsigned char>(cff[i]) : 0U;
  };
  auto offset = [&](std::size_t at, unsigned size) {
    std::size_t v = 0;
    for (unsigned i = 0; i < size; ++i) v = (v << 8) | u8(at + i);
    return v;
  };
  // Skip an INDEX; return the position after it, and its first object's range.
  auto index = [&](std::size_t at, std::size_t* first_begin, std::size_t* first_end) {
    const std::size_t count = offset(at, 2);
    if (count == 0) return at + 2;
    const unsigned off_size = u8(at + 2);
    if (off_size < 1 || off_size > 4) return cff.size();
    const std::size_t offsets = at + 3;
    const std::size_t data = offsets + (count + 1) * off_size - 1;
    if (first_begin != nullptr) {
      *first_begin = data + offset(offsets, off_size);
      *first_end = data + offset(offsets + off_size, off_size);
    }
    return data + offset(offsets + count * off_size, off_size);
  };
  if (cff.size() < 4) return false;
  std::size_t pos = u8(2);                 // header size
  pos = index(pos, nullptr, nullptr);      // Name INDEX
  std::size_t b = 0, e = 0;
  index(pos, &b, &e);                      // Top DICT INDEX
  // Walk the DICT's operands and operators; the ROS operator must come first (TN #5176 §19),
  // but look at every operator so that a font with a leading comment-free variation still works.
  for (std::size_t i = b; i < e && i < cff.size();) {
    const unsigned c = u8(i);
    if (c == 12) {
      if (u8(i + 1) == 30) return true;
      i += 2;
    } else if (c <= 21) {
      i += 1;
    } else if (c == 28) {
      i += 3;
    } else if (c == 29) {
      i += 5;
    } else if (c == 30) {  // real number: nibbles up to 0xf
      ++i;
      while (i < e && (u8(i) & 0x0f) != 0x0f && (u8(i) >> 4) != 0x0f) ++i;
      ++i;
    } else if (c >= 32 && c <= 246) {
      i += 1;
    } else if (c >= 247 && c <= 254) {
      i += 2;
    } else {
      i += 1;
    }
  }
  return false;
}

std::string file_stem(const std::string& file) {
  std::string s = file.substr(file.find_last_of('/') + 1);
  s = s.substr(0, s.find('.'));
  std::string out;
  for (char c : s) {
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-') {
      out += c;
    }
  }
  return out.empty() ? "Font" : out;
}

}  // namespace

const SubsetGlyph& FontSubset::find(std::uint32_t old_id) const {
  for (const auto& g : glyphs) {
    if (g.old_id == old_id) return g;
  }
  throw Error(ErrorCode::kInternal,
              "font subset: glyph " + std::to_string(old_id) + " is not in the subset");
}

std::uint32_t FontSubset::new_id(std::uint32_t old_id) const { return find(old_id).new_id; }

std::int32_t FontSubset::advance(std::uint32_t old_id) const { return find(old_id).advance; }

std::string FontSubset::table(std::string_view tag) const {
  if (tag.size() != 4) return {};
  HbBlob blob(hb_blob_create(data.data(), static_cast<unsigned>(data.size()),
                             HB_MEMORY_MODE_READONLY, nullptr, nullptr));
  HbFace face(hb_face_create(blob.get(), 0));
  HbBlob t(hb_face_reference_table(face.get(), tag_of(tag)));
  return blob_bytes(t.get());
}

SubsetFace::SubsetFace(const std::string& file, int index) : file_(file), index_(index) {
  HbBlob blob(hb_blob_create_from_file_or_fail(file.c_str()));
  if (!blob) throw Error(ErrorCode::kNotFound, "font file cannot be read: " + file);
  if (index < 0 || static_cast<unsigned>(index) >= hb_face_count(blob.get())) {
    throw Error(ErrorCode::kRender, "font file " + file + " has no face " + std::to_string(index));
  }
  HbFace source(hb_face_create(blob.get(), static_cast<unsigned>(index)));
  glyph_count_ = hb_face_get_glyph_count(source.get());
  if (glyph_count_ == 0) throw Error(ErrorCode::kRender, "not a font with glyphs: " + file);
  const bool has_glyf = hb_blob_get_length(HbBlob(hb_face_reference_table(
                            source.get(), HB_TAG('g', 'l', 'y', 'f'))).get()) > 0;
  const bool has_cff = hb_blob_get_length(HbBlob(hb_face_reference_table(
                           source.get(), HB_TAG('C', 'F', 'F', ' '))).get()) > 0;
  if (!has_glyf && !has_cff) {
    // CFF2 (variable CFF) and bitmap-only fonts: no PDF font type carries them.
    throw Error(ErrorCode::kRender, "font " + file + " has neither 'glyf' nor 'CFF ' outlines");
  }
  outlines_ = has_glyf ? Outlines::kTrueType : Outlines::kCff;

  metrics_.units_per_em = hb_face_get_upem(source.get());
  {
    HbFont f(hb_font_create(source.get()));
    hb_font_extents_t ext{};
    hb_font_get_h_extents(f.get(), &ext);
    metrics_.ascender = ext.ascender;
    metrics_.descender = ext.descender;
    hb_position_t cap = 0;
    metrics_.cap_height = hb_ot_metrics_get_position(f.get(), HB_OT_METRICS_TAG_CAP_HEIGHT, &cap)
                              ? cap
                              : ext.ascender;
    metrics_.italic_angle = static_cast<double>(hb_style_get_value(f.get(), HB_STYLE_TAG_SLANT_ANGLE));
  }
  {
    // 'head' xMin, yMin, xMax, yMax at offsets 36..43 (OpenType 'head' table), big-endian int16.
    HbBlob head(hb_face_reference_table(source.get(), HB_TAG('h', 'e', 'a', 'd')));
    const std::string h = blob_bytes(head.get());
    if (h.size() >= 44) {
      auto s16 = [&](std::size_t at) {
        return static_cast<std::int16_t>((static_cast<unsigned char>(h[at]) << 8) |
                                         static_cast<unsigned char>(h[at + 1]));
      };
      metrics_.x_min = s16(36);
      metrics_.y_min = s16(38);
      metrics_.x_max = s16(40);
      metrics_.y_max = s16(42);
    }
  }
  {
    char name[128];
    unsigned int len = sizeof name;
    const unsigned got = hb_ot_name_get_utf8(source.get(), HB_OT_NAME_ID_POSTSCRIPT_NAME,
                                             HB_LANGUAGE_INVALID, &len, name);
    std::string ps = got > 0 ? std::string(name, std::min<unsigned>(len, sizeof name - 1)) : "";
    // PDF names must not contain delimiters or spaces (PDF 32000-1 §7.3.5); keep the safe ones.
    std::string clean;
    for (char c : ps) {
      if (c > ' ' && c < 127 && std::string_view("()<>[]{}/%#").find(c) == std::string_view::npos) {
        clean += c;
      }
    }
    metrics_.postscript_name = clean.empty() ? file_stem(file) : clean;
  }

  face_.reset(hb_subset_preprocess(source.get()));
  if (!face_ || hb_face_get_glyph_count(face_.get()) != glyph_count_) {
    throw Error(ErrorCode::kRender, "hb-subset cannot preprocess font " + file);
  }
  font_.reset(hb_font_create(face_.get()));
  hb_font_make_immutable(font_.get());
}

SubsetFace::~SubsetFace() = default;

std::shared_ptr<const SubsetFace> SubsetFace::get(const std::string& file, int index) {
  // Faces are few (a template uses two or three fonts) and large: kept for the process's life.
  // The lock is held while loading so that two threads never preprocess the same face twice.
  static std::mutex mutex;
  static std::map<std::pair<std::string, int>, std::shared_ptr<const SubsetFace>> cache;
  std::lock_guard<std::mutex> lock(mutex);
  auto& slot = cache[{file, index}];
  if (!slot) slot = std::make_shared<const SubsetFace>(file, index);
  return slot;
}

std::uint32_t SubsetFace::nominal_glyph(char32_t c) const {
  hb_codepoint_t g = 0;
  return hb_font_get_nominal_glyph(font_.get(), static_cast<hb_codepoint_t>(c), &g) ? g : 0;
}

std::int32_t SubsetFace::advance(std::uint32_t glyph_id) const {
  if (glyph_id >= glyph_count_) return 0;
  return hb_font_get_glyph_h_advance(font_.get(), glyph_id);
}

FontSubset SubsetFace::subset(std::span<const std::uint32_t> glyph_ids,
                              const SubsetOptions& options) const {
  std::unique_ptr<hb_subset_input_t, HbDeleter<hb_subset_input_destroy>> input(
      hb_subset_input_create_or_fail());
  if (!input) throw Error(ErrorCode::kRender, "hb-subset: out of memory");
  hb_set_t* gids = hb_subset_input_glyph_set(input.get());
  for (std::uint32_t g : glyph_ids) {
    if (g >= glyph_count_) {
      throw Error(ErrorCode::kRender, "font " + file_ + ": glyph " + std::to_string(g) +
                                          " does not exist (" + std::to_string(glyph_count_) +
                                          " glyphs)");
    }
    hb_set_add(gids, g);
  }
  hb_set_t* unicodes = hb_subset_input_unicode_set(input.get());
  for (char32_t u : options.unicodes) hb_set_add(unicodes, static_cast<hb_codepoint_t>(u));

  unsigned flags = HB_SUBSET_FLAGS_DEFAULT;
  if (options.retain_gids) flags |= HB_SUBSET_FLAGS_RETAIN_GIDS;
  if (options.desubroutinize) flags |= HB_SUBSET_FLAGS_DESUBROUTINIZE;
  if (options.drop_hints) flags |= HB_SUBSET_FLAGS_NO_HINTING;
  hb_subset_input_set_flags(input.get(), flags);
  if (options.drop_layout) {
    hb_set_t* drop = hb_subset_input_set(input.get(), HB_SUBSET_SETS_DROP_TABLE_TAG);
    for (const char* t : {"GSUB", "GPOS", "GDEF", "BASE", "JSTF", "MATH", "morx", "mort", "kerx",
                          "kern", "feat", "trak", "DSIG", "vhea", "vmtx", "VORG", "hdmx", "LTSH",
                          "VDMX", "PCLT", "gasp"}) {
      hb_set_add(drop, tag_of(t));
    }
  }

  for (const std::string& t : options.drop_tables) {
    if (t.size() != 4) {
      throw Error(ErrorCode::kInvalidArgument, "font subset: table tag '" + t + "' is not 4 characters");
    }
    hb_set_add(hb_subset_input_set(input.get(), HB_SUBSET_SETS_DROP_TABLE_TAG), tag_of(t));
  }
  std::unique_ptr<hb_subset_plan_t, HbDeleter<hb_subset_plan_destroy>> plan(
      hb_subset_plan_create_or_fail(face_.get(), input.get()));
  if (!plan) throw Error(ErrorCode::kRender, "hb-subset cannot plan a subset of " + file_);
  HbFace out(hb_subset_plan_execute_or_fail(plan.get()));
  if (!out) throw Error(ErrorCode::kRender, "hb-subset failed on " + file_);
  HbBlob bytes(hb_face_reference_blob(out.get()));

  FontSubset r;
  r.data = blob_bytes(bytes.get());
  if (r.data.empty()) throw Error(ErrorCode::kRender, "hb-subset produced no font for " + file_);
  r.outlines = outlines_;
  r.units_per_em = metrics_.units_per_em;
  r.glyph_count = hb_face_get_glyph_count(out.get());
  // HarfBuzz 6 has no map iterator (hb_map_next is 7.0): walk the new ids in order until every
  // entry of the new → old map has been seen (new ids are dense unless retain_gids).
  const hb_map_t* map = hb_subset_plan_new_to_old_glyph_mapping(plan.get());
  const unsigned population = hb_map_get_population(map);
  for (hb_codepoint_t n = 0; r.glyphs.size() < population && n < r.glyph_count; ++n) {
    const hb_codepoint_t o = hb_map_get(map, n);
    if (o != HB_MAP_VALUE_INVALID) r.glyphs.push_back({o, n, advance(o)});
  }
  if (outlines_ == Outlines::kCff) r.cid_keyed = cff_is_cid_keyed(r.table("CFF "));
  return r;
}

}  // namespace libcert::font
