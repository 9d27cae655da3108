#include "verify_render.h"

#include <poppler.h>

#include <cctype>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "gobj.h"
#include "libcert/error.h"
#include "libcert/pdf.h"

namespace libcert::detail {

namespace {

using AnnotMapping = std::unique_ptr<GList, gobj::Deleter<poppler_page_free_annot_mapping>>;

struct Annot {
  PopplerAnnotType type;
  double x1, y1, x2, y2;  // PDF user space, relative to the crop box (poppler's convention)
};

struct Page {
  double width = 0, height = 0;  // points
  int px_w = 0, px_h = 0;
  std::vector<unsigned char> pixels;  // ARGB32, px_w * px_h * 4
  std::vector<Annot> annots;
};

struct Rendered {
  std::string error;  // non-empty: could not load or render within the limits
  std::vector<Page> pages;
  int page_count = 0;
};

constexpr double kMaxPixelsPerPage = 4.0e6;

// ---- Content cost ------------------------------------------------------------------------------
// What Poppler will do for a page, estimated before rendering: the decoded bytes of its content
// streams with every form XObject (ISO 32000-1 §8.10) counted once per `Do` that paints it, and
// every image XObject by its pixels (Width x Height). A
// few kilobytes can otherwise expand to billions of operators (a form that paints the next one
// 8 times, 10 levels deep), which no time budget between pages can stop.
class ContentCost {
 public:
  ContentCost(const pdf::Document& doc, std::uint64_t limit) : doc_(doc), limit_(limit) {}

  // Saturates at limit + 1.
  std::uint64_t page(pdf::Ref page_ref) {
    const pdf::Object page = doc_.object(page_ref);
    const pdf::Dict& d = page.as_dict();
    // /Resources may be inherited from the page tree (§7.7.3.4).
    pdf::Object res = doc_.resolve(d.get("Resources"));
    pdf::Object node = page;
    for (int hops = 0; res.is_null() && hops < 64; ++hops) {
      const pdf::Object* parent = node.as_dict().get("Parent");
      if (parent == nullptr) break;
      node = doc_.resolve(parent);
      if (!node.is(pdf::Kind::kDict)) break;
      res = doc_.resolve(node.as_dict().get("Resources"));
    }
    std::string content;
    const pdf::Object c = doc_.resolve(d.get("Contents"));
    if (c.is(pdf::Kind::kStream)) {
      content = doc_.decode(c.as_stream());
    } else if (c.is(pdf::Kind::kArray)) {
      for (const auto& part : c.as_array()) {
        const pdf::Object p = doc_.resolve(part);
        if (p.is(pdf::Kind::kStream)) content += doc_.decode(p.as_stream()) + "\n";
        if (content.size() > limit_) return limit_ + 1;
      }
    }
    return stream_cost(content, res, 0);
  }

 private:
  std::uint64_t add(std::uint64_t a, std::uint64_t b) const {
    return a > limit_ || b > limit_ - std::min(a, limit_) ? limit_ + 1 : a + b;
  }

  std::uint64_t stream_cost(std::string_view content, const pdf::Object& resources, int depth) {
    std::uint64_t cost = content.size();
    if (depth > 32) return limit_ + 1;  // deeper than any real document nests forms
    const pdf::Object xobjects = resources.is(pdf::Kind::kDict)
                                     ? doc_.resolve(resources.as_dict().get("XObject"))
                                     : pdf::Object();
    if (!xobjects.is(pdf::Kind::kDict)) return cost;
    // "/Name Do": a name token, white space, the operator Do and a delimiter (§8.8, §7.2.2).
    for (std::size_t i = content.find('/'); i != std::string_view::npos && cost <= limit_;
         i = content.find('/', i + 1)) {
      std::size_t e = i + 1;
      while (e < content.size() && !std::isspace(static_cast<unsigned char>(content[e])) &&
             std::string_view("/[]()<>{}%").find(content[e]) == std::string_view::npos) {
        ++e;
      }
      std::size_t k = e;
      while (k < content.size() && std::isspace(static_cast<unsigned char>(content[k]))) ++k;
      if (content.substr(k, 2) != "Do") continue;
      if (k + 2 < content.size() && !std::isspace(static_cast<unsigned char>(content[k + 2])) &&
          std::string_view("/[]()<>{}%").find(content[k + 2]) == std::string_view::npos) {
        continue;
      }
      const pdf::Object* ref = xobjects.as_dict().get(content.substr(i + 1, e - i - 1));
      if (ref == nullptr || !ref->is(pdf::Kind::kRef)) continue;
      cost = add(cost, form_cost(ref->as_ref(), depth + 1));
    }
    return cost;
  }

  std::uint64_t form_cost(pdf::Ref ref, int depth) {
    if (auto it = memo_.find(ref); it != memo_.end()) return it->second;
    memo_[ref] = limit_ + 1;  // a form that paints itself never ends
    const pdf::Object o = doc_.object(ref);
    std::uint64_t cost = 0;
    const pdf::Object* subtype = o.is(pdf::Kind::kStream) ? o.as_dict().get("Subtype") : nullptr;
    if (subtype != nullptr && subtype->is_name("Form")) {
      const std::string data = doc_.decode(o.as_stream());
      cost = stream_cost(data, doc_.resolve(o.as_dict().get("Resources")), depth);
    } else if (subtype != nullptr && subtype->is_name("Image")) {
      // An image costs its decoded samples (§8.9.5: Width x Height x components), which Poppler
      // decodes whatever the output resolution: a 30,000 x 30,000 image is 900 MB of work.
      const pdf::Object w = doc_.resolve(o.as_dict().get("Width"));
      const pdf::Object h = doc_.resolve(o.as_dict().get("Height"));
      if (!w.is(pdf::Kind::kInt) || !h.is(pdf::Kind::kInt) || w.as_int() < 0 || h.as_int() < 0) {
        cost = limit_ + 1;
      } else {
        const auto pw = static_cast<std::uint64_t>(w.as_int());
        const auto ph = static_cast<std::uint64_t>(h.as_int());
        cost = pw != 0 && ph > (limit_ + 1) / pw ? limit_ + 1 : add(0, pw * ph);
      }
    }
    memo_[ref] = cost;
    return cost;
  }

  const pdf::Document& doc_;
  std::uint64_t limit_;
  std::map<pdf::Ref, std::uint64_t> memo_;
};

// An empty string if every page is within the limit; otherwise why not. Errors of the reader
// are left to Poppler (the structure checks report them).
std::string content_too_costly(std::string_view bytes, const VerifyOptions& opts) {
  try {
    pdf::Limits lim;
    lim.max_decoded_stream = opts.max_decoded_stream;
    const pdf::Document doc = pdf::Document::open(bytes, lim);
    ContentCost cost(doc, opts.max_render_content);
    const auto pages = doc.page_refs();
    for (std::size_t i = 0; i < pages.size(); ++i) {
      if (cost.page(pages[i]) > opts.max_render_content) {
        return "page " + std::to_string(i + 1) + " paints more than " +
               std::to_string(opts.max_render_content) +
               " bytes of content once its form XObjects are expanded (max_render_content)";
      }
    }
  } catch (const Error& e) {
    // Left to Poppler and the structure checks, except a limit: that page must not be rendered.
    if (e.code() == ErrorCode::kLimitExceeded) return e.what();
  }
  return {};
}

// Renders every page (up to the limits). `deadline_ms` is a budget for all pages: Poppler cannot
// be interrupted inside a page, so the budget is checked between pages. The monotonic clock here
// only bounds work; it never affects a result that is reported as checked.
Rendered render(std::string_view bytes, const VerifyOptions& opts, std::int64_t& budget_ms) {
  Rendered r;
  gobj::Bytes data(g_bytes_new_static(bytes.data(), bytes.size()));
  GError* err_raw = nullptr;
  gobj::Object<PopplerDocument> doc(poppler_document_new_from_bytes(data.get(), nullptr, &err_raw));
  gobj::GErrorPtr err(err_raw);
  if (!doc) {
    r.error = std::string("Poppler cannot open it: ") + (err ? err->message : "unknown error");
    return r;
  }
  r.page_count = poppler_document_get_n_pages(doc.get());
  if (r.page_count > opts.max_render_pages) {
    r.error = std::to_string(r.page_count) + " pages, more than the rendering limit " +
              std::to_string(opts.max_render_pages);
    return r;
  }
  r.error = content_too_costly(bytes, opts);
  if (!r.error.empty()) return r;
  const double scale = opts.render_dpi / 72.0;
  for (int i = 0; i < r.page_count; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    gobj::Object<PopplerPage> page(poppler_document_get_page(doc.get(), i));
    if (!page) {
      r.error = "page " + std::to_string(i + 1) + " cannot be loaded";
      return r;
    }
    Page p;
    poppler_page_get_size(page.get(), &p.width, &p.height);
    const double pw = std::ceil(p.width * scale), ph = std::ceil(p.height * scale);
    if (!(pw >= 1 && ph >= 1) || pw * ph > kMaxPixelsPerPage) {
      r.error = "page " + std::to_string(i + 1) + " size is out of the rendering limits";
      return r;
    }
    p.px_w = static_cast<int>(pw);
    p.px_h = static_cast<int>(ph);
    gobj::Surface surface(cairo_image_surface_create(CAIRO_FORMAT_ARGB32, p.px_w, p.px_h));
    gobj::Cairo cr(cairo_create(surface.get()));
    cairo_set_source_rgb(cr.get(), 1, 1, 1);
    cairo_paint(cr.get());
    cairo_scale(cr.get(), scale, scale);
    poppler_page_render(page.get(), cr.get());
    cairo_surface_flush(surface.get());
    if (cairo_status(cr.get()) != CAIRO_STATUS_SUCCESS) {
      r.error = "page " + std::to_string(i + 1) + " cannot be rendered";
      return r;
    }
    const int stride = cairo_image_surface_get_stride(surface.get());
    const unsigned char* src = cairo_image_surface_get_data(surface.get());
    const auto row = static_cast<std::size_t>(p.px_w) * 4;
    p.pixels.resize(row * static_cast<std::size_t>(p.px_h));
    for (int y = 0; y < p.px_h; ++y) {
      std::copy_n(
          src + static_cast<std::ptrdiff_t>(y) * stride, row,
          p.pixels.begin() + static_cast<std::ptrdiff_t>(row * static_cast<std::size_t>(y)));
    }
    AnnotMapping annots(poppler_page_get_annot_mapping(page.get()));
    for (GList* l = annots.get(); l != nullptr; l = l->next) {
      auto* m = static_cast<PopplerAnnotMapping*>(l->data);
      p.annots.push_back(Annot{poppler_annot_get_annot_type(m->annot), m->area.x1, m->area.y1,
                               m->area.x2, m->area.y2});
    }
    r.pages.push_back(std::move(p));
    budget_ms -=
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0)
            .count();
    if (budget_ms < 0 && i + 1 < r.page_count) {
      r.error =
          "rendering exceeded the time budget of " + std::to_string(opts.render_budget_ms) + " ms";
      return r;
    }
  }
  return r;
}

bool same_rect(const Annot& a, const Annot& b) {
  return a.type == b.type && std::fabs(a.x1 - b.x1) < 0.5 && std::fabs(a.y1 - b.y1) < 0.5 &&
         std::fabs(a.x2 - b.x2) < 0.5 && std::fabs(a.y2 - b.y2) < 0.5;
}

std::string fmt_pct(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f%%", v);
  return buf;
}

std::vector<Check> compare_now(std::string_view signed_revision, std::string_view whole,
                               const std::vector<AllowedArea>& seals, const VerifyOptions& opts);

// Renders that overran their deadline and still run (see compare_rendering).
std::mutex g_overrun_mu;
int g_overrun = 0;  // GUARDED_BY(g_overrun_mu)
constexpr int kMaxOverrun = 2;

Check not_checked(const std::string& why) {
  return {"rendering", CheckStatus::kNotChecked,
          "the rendered comparison could not be made (" + why +
              "); content hidden or replaced after signing cannot be ruled out"};
}

}  // namespace

// Poppler's glib API cannot interrupt a page (poppler_page_render has no abort callback), so one
// hostile page (a tiling pattern with a tiny step, millions of path operators) could hold the
// caller for minutes. The comparison therefore runs on its own thread, on its own copy of the
// bytes, and the caller waits at most render_budget_ms: past that the check is "not-checked"
// (the result cannot be VALID) and the thread is left to finish on its own. At most kMaxOverrun
// such threads may still run in the process; while that many do, rendering is skipped at once,
// so a stream of hostile PDFs costs at most that many cores, never a hang or unbounded threads.
std::vector<Check> compare_rendering(std::string_view signed_revision, std::string_view whole,
                                     const std::vector<AllowedArea>& seals,
                                     const VerifyOptions& opts) {
  {
    std::lock_guard l(g_overrun_mu);
    if (g_overrun >= kMaxOverrun) {
      return {not_checked(std::to_string(g_overrun) +
                          " earlier rendering(s) that exceeded the time budget still run")};
    }
  }
  struct Job {
    std::string whole;
    std::size_t signed_size = 0;
    std::vector<AllowedArea> seals;
    VerifyOptions opts;
    std::promise<std::vector<Check>> done;
    bool overrun = false;  // GUARDED_BY(g_overrun_mu): the caller stopped waiting
  };
  auto job = std::make_shared<Job>();
  job->whole.assign(whole);
  job->signed_size = std::min(signed_revision.size(), whole.size());
  job->seals = seals;
  job->opts.render_dpi = opts.render_dpi;
  job->opts.max_render_pages = opts.max_render_pages;
  job->opts.render_budget_ms = opts.render_budget_ms;
  job->opts.max_render_content = opts.max_render_content;
  job->opts.max_decoded_stream = opts.max_decoded_stream;
  std::future<std::vector<Check>> result = job->done.get_future();
  try {
    std::thread([job] {
      std::vector<Check> checks;
      try {
        const std::string_view w(job->whole);
        checks = compare_now(w.substr(0, job->signed_size), w, job->seals, job->opts);
      } catch (const std::exception& e) {
        checks = {not_checked(std::string("rendering failed: ") + e.what())};
      }
      job->done.set_value(std::move(checks));
      std::lock_guard l(g_overrun_mu);
      if (job->overrun) --g_overrun;
    }).detach();
  } catch (const std::system_error& e) {
    return {not_checked(std::string("no thread for rendering: ") + e.what())};
  }
  const auto budget = std::chrono::milliseconds(std::max<std::int64_t>(opts.render_budget_ms, 0));
  if (result.wait_for(budget) == std::future_status::ready) return result.get();
  std::lock_guard l(g_overrun_mu);
  // The thread may have finished between wait_for and the lock: then take its answer.
  if (result.wait_for(std::chrono::seconds(0)) == std::future_status::ready) return result.get();
  job->overrun = true;
  ++g_overrun;
  return {not_checked("rendering exceeded the time budget of " +
                      std::to_string(opts.render_budget_ms) + " ms")};
}

namespace {

std::vector<Check> compare_now(std::string_view signed_revision, std::string_view whole,
                               const std::vector<AllowedArea>& seals, const VerifyOptions& opts) {
  std::vector<Check> out;
  std::int64_t budget = opts.render_budget_ms;
  const Rendered a = render(signed_revision, opts, budget);
  const Rendered b = a.error.empty() ? render(whole, opts, budget) : Rendered{};
  if (!a.error.empty() || !b.error.empty()) {
    const std::string why =
        !a.error.empty() ? "signed revision: " + a.error : "whole file: " + b.error;
    out.push_back(not_checked(why));
    return out;
  }
  if (a.page_count != b.page_count) {
    out.push_back({"pages", CheckStatus::kFail,
                   "signed revision has " + std::to_string(a.page_count) +
                       " page(s), the whole file " + std::to_string(b.page_count)});
  } else {
    out.push_back({"pages", CheckStatus::kPass, std::to_string(a.page_count) + " page(s) in both"});
  }

  std::string annot_problems;
  std::string render_problems;
  const std::size_t n = std::min(a.pages.size(), b.pages.size());
  for (std::size_t i = 0; i < n; ++i) {
    const Page& pa = a.pages[i];
    const Page& pb = b.pages[i];
    const std::string page = "page " + std::to_string(i + 1);
    // Annotations: every signed one must still be there, unchanged in type and place; a new one
    // must be the widget of a verified new seal (`seals`), of a moderate size.
    std::vector<Annot> added;
    double excluded = 0;
    for (const auto& x : pa.annots) {
      bool found = false;
      for (const auto& y : pb.annots) found = found || same_rect(x, y);
      if (!found) annot_problems += "; " + page + ": an annotation was removed or moved";
    }
    for (const auto& y : pb.annots) {
      bool found = false;
      for (const auto& x : pa.annots) found = found || same_rect(x, y);
      if (found) continue;
      const double area = std::fabs((y.x2 - y.x1) * (y.y2 - y.y1));
      if (area == 0) continue;  // paints nothing (an invisible document timestamp widget)
      if (y.type != POPPLER_ANNOT_WIDGET) {
        annot_problems += "; " + page + ": a new non-widget annotation was added";
        continue;
      }
      bool seal = false;
      for (const auto& s : seals) {
        seal = seal || (s.page == i && std::fabs(std::min(y.x1, y.x2) - s.rect[0]) < 0.5 &&
                        std::fabs(std::min(y.y1, y.y2) - s.rect[1]) < 0.5 &&
                        std::fabs(std::max(y.x1, y.x2) - s.rect[2]) < 0.5 &&
                        std::fabs(std::max(y.y1, y.y2) - s.rect[3]) < 0.5);
      }
      if (!seal) {
        annot_problems += "; " + page +
                          ": a new widget that is not a verified seal's (an empty or unsigned "
                          "signature field?) paints on the page; its pixels are compared";
        continue;
      }
      const double share = 100.0 * area / (pb.width * pb.height);
      if (share > 10.0) {
        annot_problems += "; " + page + ": a new widget covers " + fmt_pct(share) +
                          " of the page (at most 10% is accepted for a seal)";
      }
      excluded += area;
      added.push_back(y);
    }
    // A total: several seals of 10% each must not hide a page either.
    if (100.0 * excluded / (pb.width * pb.height) > 20.0) {
      annot_problems += "; " + page + ": new seal widgets cover " +
                        fmt_pct(100.0 * excluded / (pb.width * pb.height)) +
                        " of the page together (at most 20% is excluded from the comparison)";
    }
    if (pa.px_w != pb.px_w || pa.px_h != pb.px_h) {
      render_problems += "; " + page + ": page size changed";
      continue;
    }
    // Pixels inside new widgets (plus 2 px of anti-aliasing) may differ; nothing else may.
    const double scale = opts.render_dpi / 72.0;
    std::vector<unsigned char> mask(
        static_cast<std::size_t>(pa.px_w) * static_cast<std::size_t>(pa.px_h), 0);
    for (const Annot& wa : added) {
      const Annot* w = &wa;
      const int x0 = std::max(0, static_cast<int>(std::floor(std::min(w->x1, w->x2) * scale)) - 2);
      const int x1 =
          std::min(pa.px_w, static_cast<int>(std::ceil(std::max(w->x1, w->x2) * scale)) + 2);
      const int y0 = std::max(
          0, static_cast<int>(std::floor((pb.height - std::max(w->y1, w->y2)) * scale)) - 2);
      const int y1 = std::min(
          pa.px_h, static_cast<int>(std::ceil((pb.height - std::min(w->y1, w->y2)) * scale)) + 2);
      for (int y = y0; y < y1; ++y)
        for (int x = x0; x < x1; ++x)
          mask[static_cast<std::size_t>(y) * static_cast<std::size_t>(pa.px_w) +
               static_cast<std::size_t>(x)] = 1;
    }
    std::size_t differ = 0;
    for (std::size_t px = 0; px < mask.size(); ++px) {
      if (mask[px] != 0) continue;
      const unsigned char* p = &pa.pixels[px * 4];
      const unsigned char* q = &pb.pixels[px * 4];
      if (p[0] != q[0] || p[1] != q[1] || p[2] != q[2] || p[3] != q[3]) ++differ;
    }
    if (differ != 0) {
      render_problems += "; " + page + ": " + std::to_string(differ) + " of " +
                         std::to_string(mask.size()) + " pixels (at " +
                         std::to_string(static_cast<int>(opts.render_dpi)) +
                         " dpi) differ from the signed revision outside new signature widgets";
    }
  }
  out.push_back({"annotations", annot_problems.empty() ? CheckStatus::kPass : CheckStatus::kFail,
                 annot_problems.empty() ? "signed annotations unchanged; new ones are seal widgets"
                                        : annot_problems.substr(2)});
  out.push_back({"rendering", render_problems.empty() ? CheckStatus::kPass : CheckStatus::kFail,
                 render_problems.empty()
                     ? "whole file renders like the signed revision outside new seal widgets"
                     : render_problems.substr(2)});
  return out;
}

}  // namespace

}  // namespace libcert::detail
