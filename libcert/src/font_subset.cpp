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

std::string_view blob_view(hb_blob_t* blob) {
  unsigned int len = 0;
  const char* p = hb_blob_get_data(blob, &len);
  return p != nullptr ? std::string_view(p, len) : std::string_view();
}

std::string blob_bytes(hb_blob_t* blob) {
  unsigned int len = 0;
  const char* p = hb_blob_get_data(blob, &len);
  return p != nullptr ? std::string(p, len) : std::string();
}

// What a PDF writer needs from a CFF table (Adobe TN #5176): whether its Top DICT is CID-keyed
// (begins with the ROS operator, 12 30, §19) and the charset (§13), which for a CID-keyed font
// gives each glyph's CID. The table is hb-subset's output, but it is parsed strictly anyway:
// any offset or count outside the table is an Error(kRender), never a read past the end.
struct CffInfo {
  bool cid_keyed = false;
  std::vector<std::uint32_t> charset;  // by glyph id: CID (CID-keyed) or SID; [0] = 0, .notdef
};

CffInfo parse_cff(std::string_view cff, bool with_charset = true) {
  auto bad = [](const char* what) {
    return Error(ErrorCode::kRender, std::string("CFF subset: ") + what);
  };
  auto u8 = [&](std::size_t i) -> unsigned {
    if (i >= cff.size()) throw bad("truncated table");
    return static_cast<unsigned char>(cff[i]);
  };
  auto be = [&](std::size_t at, unsigned size) {
    std::size_t v = 0;
    for (unsigned i = 0; i < size; ++i) v = (v << 8) | u8(at + i);
    return v;
  };
  struct Index {
    std::size_t count = 0, end = 0, first_begin = 0, first_end = 0;
  };
  // An INDEX (§5): count, offSize, count + 1 offsets (1-based, from the byte before the data).
  auto index = [&](std::size_t at) {
    Index ix;
    ix.count = be(at, 2);
    if (ix.count == 0) {
      ix.end = at + 2;
      return ix;
    }
    const unsigned off_size = u8(at + 2);
    if (off_size < 1 || off_size > 4) throw bad("INDEX offset size out of range");
    const std::size_t offsets = at + 3;
    const std::size_t data = offsets + (ix.count + 1) * off_size - 1;
    ix.first_begin = data + be(offsets, off_size);
    ix.first_end = data + be(offsets + off_size, off_size);
    ix.end = data + be(offsets + ix.count * off_size, off_size);
    if (ix.end > cff.size() || ix.first_end > ix.end || ix.first_begin > ix.first_end) {
      throw bad("INDEX past the end of the table");
    }
    return ix;
  };
  if (cff.size() < 4) throw bad("shorter than its header");
  const Index names = index(u8(2));  // header size at byte 2
  const Index top = index(names.end);
  if (top.count == 0) throw bad("no Top DICT");

  // The Top DICT (§4): operands then an operator; keep the operands of charset (15) and
  // CharStrings (17), note ROS (12 30).
  CffInfo info;
  std::size_t charset_at = 0, charstrings_at = 0;
  std::vector<long> operands;
  for (std::size_t i = top.first_begin; i < top.first_end;) {
    const unsigned c = u8(i);
    if (c <= 21) {  // operator
      unsigned op = c;
      if (c == 12) {
        op = 1200 + u8(i + 1);
        ++i;
      }
      ++i;
      if (op == 1230) info.cid_keyed = true;
      if (op == 15 && !operands.empty()) charset_at = static_cast<std::size_t>(operands.back());
      if (op == 17 && !operands.empty()) charstrings_at = static_cast<std::size_t>(operands.back());
      operands.clear();
    } else if (c == 28) {
      operands.push_back(static_cast<std::int16_t>(be(i + 1, 2)));
      i += 3;
    } else if (c == 29) {
      operands.push_back(static_cast<std::int32_t>(be(i + 1, 4)));
      i += 5;
    } else if (c == 30) {  // real number: nibbles until one is 0xf
      ++i;
      while ((u8(i) & 0x0f) != 0x0f && (u8(i) >> 4) != 0x0f) ++i;
      ++i;
      operands.push_back(0);
    } else if (c >= 32 && c <= 246) {
      operands.push_back(static_cast<long>(c) - 139);
      i += 1;
    } else if (c >= 247 && c <= 250) {
      operands.push_back((static_cast<long>(c) - 247) * 256 + u8(i + 1) + 108);
      i += 2;
    } else if (c >= 251 && c <= 254) {
      operands.push_back(-(static_cast<long>(c) - 251) * 256 - u8(i + 1) - 108);
      i += 2;
    } else {
      throw bad("reserved byte in the Top DICT");
    }
  }
  if (!with_charset) return info;
  if (charstrings_at == 0) throw bad("no CharStrings");
  const std::size_t glyphs = index(charstrings_at).count;
  info.charset.assign(glyphs, 0);
  if (charset_at <= 2) {
    // The predefined charsets (ISOAdobe, Expert, ExpertSubset, §13) are for name-keyed fonts
    // only; their SIDs do not matter here (a name-keyed CFF's CIDs are its glyph ids).
    if (info.cid_keyed) throw bad("CID-keyed font with a predefined charset");
    for (std::size_t g = 0; g < glyphs; ++g) info.charset[g] = static_cast<std::uint32_t>(g);
    return info;
  }
  // Glyph 0 (.notdef) is not in the charset; formats 0 (a list), 1 and 2 (ranges of 8- or
  // 16-bit counts).
  const unsigned format = u8(charset_at);
  std::size_t at = charset_at + 1;
  std::size_t g = 1;
  if (format == 0) {
    for (; g < glyphs; ++g, at += 2) info.charset[g] = static_cast<std::uint32_t>(be(at, 2));
  } else if (format == 1 || format == 2) {
    const unsigned left_size = format == 1 ? 1 : 2;
    while (g < glyphs) {
      const std::size_t first = be(at, 2), left = be(at + 2, left_size);
      at += 2 + left_size;
      for (std::size_t k = 0; k <= left && g < glyphs; ++k, ++g) {
        info.charset[g] = static_cast<std::uint32_t>(first + k);
      }
    }
  } else {
    throw bad("unknown charset format");
  }
  return info;
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

std::uint32_t FontSubset::cid(std::uint32_t old_id) const {
  const std::uint32_t n = find(old_id).new_id;
  if (outlines == Outlines::kTrueType) return n;
  if (n >= cids.size()) throw Error(ErrorCode::kInternal, "font subset: glyph without a CID");
  return cids[n];
}

std::string FontSubset::table(std::string_view tag) const {
  if (tag.size() != 4) return {};
  if (!sfnt) return tag == "CFF " ? data : std::string();
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
  source_.reset(hb_face_create(blob.get(), static_cast<unsigned>(index)));
  hb_face_t* const source = source_.get();
  glyph_count_ = hb_face_get_glyph_count(source);
  if (glyph_count_ == 0) throw Error(ErrorCode::kRender, "not a font with glyphs: " + file);
  const bool has_glyf = hb_blob_get_length(HbBlob(hb_face_reference_table(
                            source, HB_TAG('g', 'l', 'y', 'f'))).get()) > 0;
  const bool has_cff = hb_blob_get_length(HbBlob(hb_face_reference_table(
                           source, HB_TAG('C', 'F', 'F', ' '))).get()) > 0;
  if (!has_glyf && !has_cff) {
    // CFF2 (variable CFF) and bitmap-only fonts: no PDF font type carries them.
    throw Error(ErrorCode::kRender, "font " + file + " has neither 'glyf' nor 'CFF ' outlines");
  }
  outlines_ = has_glyf ? Outlines::kTrueType : Outlines::kCff;

  metrics_.units_per_em = hb_face_get_upem(source);
  {
    HbFont f(hb_font_create(source));
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
    HbBlob head(hb_face_reference_table(source, HB_TAG('h', 'e', 'a', 'd')));
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
    const unsigned got = hb_ot_name_get_utf8(source, HB_OT_NAME_ID_POSTSCRIPT_NAME,
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

  if (has_cff && !has_glyf) {
    cff_blob_.reset(hb_face_reference_table(source, HB_TAG('C', 'F', 'F', ' ')));
    // CID-keyed: the Top DICT begins with ROS (12 30, CFF §18); checked fully by CidCff.
    const std::string_view t = blob_view(cff_blob_.get());
    if (t.size() > 4) {
      try {
        const CffInfo info = parse_cff(t, /*charset=*/false);
        cid_keyed_cff_ = info.cid_keyed;
      } catch (const Error&) {
        cid_keyed_cff_ = false;  // hb-subset's own reading decides, and reports, on use
      }
    }
  }
  font_.reset(hb_font_create(source));
  hb_font_make_immutable(font_.get());
}

hb_face_t* SubsetFace::subset_source() const {
  // CFF faces are subset from the source face: preprocessing Noto CJK costs 2.6 s of CPU and
  // saves 0.84 ms per subset (font_subset.h's figures), a loss for any process that issues fewer
  // than ~3,100 OFD licences.
  if (outlines_ == Outlines::kCff) return source_.get();
  std::call_once(preprocess_once_, [&] {
    HbFace f(hb_subset_preprocess(source_.get()));
    if (!f || hb_face_get_glyph_count(f.get()) != glyph_count_) {
      throw Error(ErrorCode::kRender, "hb-subset cannot preprocess font " + file_);
    }
    face_ = std::move(f);
  });
  return face_.get();
}

FontSubset SubsetFace::bare_cff_subset(std::span<const std::uint32_t> glyph_ids,
                                       const SubsetOptions& options) const {
  const int k = options.drop_hints ? 1 : 0;
  std::call_once(cff_once_[k], [&] {
    CidCff::Options o;
    o.drop_hints = options.drop_hints;
    cff_[k] = std::make_unique<CidCff>(blob_view(cff_blob_.get()), o);
    if (cff_[k]->glyph_count() != glyph_count_) {
      throw Error(ErrorCode::kRender, "font " + file_ + ": CFF and maxp glyph counts differ");
    }
  });
  const CidCff& cff = *cff_[k];
  for (std::uint32_t g : glyph_ids) {
    if (g >= glyph_count_) {
      throw Error(ErrorCode::kRender, "font " + file_ + ": glyph " + std::to_string(g) +
                                          " does not exist (" + std::to_string(glyph_count_) +
                                          " glyphs)");
    }
  }
  FontSubset r;
  r.data = cff.subset(glyph_ids);
  r.sfnt = false;
  r.outlines = Outlines::kCff;
  r.cid_keyed = true;
  r.units_per_em = metrics_.units_per_em;
  const std::vector<std::uint32_t> kept = cff.kept(glyph_ids);
  r.glyph_count = static_cast<unsigned>(kept.size());
  for (std::uint32_t n = 0; n < kept.size(); ++n) {
    r.glyphs.push_back({kept[n], n, advance(kept[n])});
    r.cids.push_back(cff.cid(kept[n]));
  }
  return r;
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
  if (options.bare_cff && cid_keyed_cff_) return bare_cff_subset(glyph_ids, options);
  CPtr<hb_subset_input_t, hb_subset_input_destroy> input(
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
  CPtr<hb_subset_plan_t, hb_subset_plan_destroy> plan(
      hb_subset_plan_create_or_fail(subset_source(), input.get()));
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
  if (outlines_ == Outlines::kCff) {
    const CffInfo cff = parse_cff(r.table("CFF "));
    if (cff.charset.size() != r.glyph_count) {
      throw Error(ErrorCode::kRender, "hb-subset of " + file_ + ": CFF and maxp glyph counts differ");
    }
    r.cid_keyed = cff.cid_keyed;
    // A name-keyed CFF in a PDF CIDFontType0 is addressed by glyph id (§9.7.4.2).
    r.cids = cff.cid_keyed ? cff.charset : std::vector<std::uint32_t>();
    if (!cff.cid_keyed) {
      for (std::uint32_t g = 0; g < r.glyph_count; ++g) r.cids.push_back(g);
    }
  }
  return r;
}

}  // namespace libcert::font
