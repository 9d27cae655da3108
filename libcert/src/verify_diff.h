// verify_diff.h (private) — difference analysis of one incremental update as a whitelist of
// EXACT changes, after pyHanko's model (pyhanko/sign/diff_analysis): every object an update
// (re)defines is compared with its previous version, and each change must be matched by a rule
// that names what may change and how. Never "whatever is reachable from an allowed root".
//
//   rule                               class         what exactly may change
//   trailer                            -             /Root, /Info, /Encrypt identical (only /ID,
//                                                    /Size, /Prev, xref-stream keys may differ)
//   catalog                            -             only /DSS, /Extensions and a direct
//                                                    /AcroForm may differ; every other key equal
//   document security store (/DSS)     lta-update    a superset of the earlier DSS: /Certs /CRLs
//   (ETSI EN 319 142-1 §5.4.2)                       /OCSPs keep every earlier entry and add only
//                                                    NEW plain streams (/Length, /Filter only);
//                                                    /VRI keeps every earlier entry and adds
//                                                    entries whose /Cert /CRL /OCSP name streams
//                                                    of the DSS, /TU a date, /TS a new plain stream
//   /Extensions (ISO 32000-1 §7.12)    lta-update    direct values only (no references)
//   document timestamp field           lta-update    a NEW field+widget with a zero-area /Rect,
//   (ETSI EN 319 142-1 §5.4.3)                       /V a NEW dictionary /Type /DocTimeStamp
//                                                    /SubFilter /ETSI.RFC3161; at every P
//   new signature field                form-filling  a NEW merged field+widget, keys from a fixed
//   (ISO 32000-1 §12.7.4.5)                          set (no /A, /AA, /Parent, /Kids), /V a NEW
//                                                    signature dictionary with direct values
//                                                    only, /F Print (no Hidden/NoView/NoZoom...),
//                                                    /Rect inside its page, at most 10% of it, not
//                                                    over an existing annotation; /AP only /N, a
//                                                    NEW form XObject whose resources are NEW
//                                                    objects or unchanged old ones
//   filling an existing empty field    form-filling  /V (and /AP) added, same constraints
//   /AcroForm, its /Fields             form-filling  /Fields only grows by new signature fields,
//                                                    /SigFlags may change, nothing else
//   page /Annots                       form-filling  only grows by new signature widgets
//   anything else                      other         a page's content or resources, /Info, XMP,
//                                                    fonts (/ToUnicode), an existing widget, an
//                                                    unsigned (empty) field, a field pointing at
//                                                    an existing signature dictionary, a new
//                                                    object in a number below the earlier /Size...
//
// Every new signature (and document timestamp) field is reported back, so the caller requires its
// signature to be one of the verified ones, and excludes only its widget's pixels from the
// rendered comparison. Whether a class is allowed depends on the certification level and is
// decided by the caller. Never throws for malformed input: an unreadable object is "other".
//
//   auto u = libcert::detail::classify_update(prev, cur, 2, cur_rev, 100000);
#pragma once

#include <array>
#include <cstddef>
#include <optional>
#include <vector>

#include "libcert/pdf.h"
#include "libcert/verify.h"

namespace libcert::detail {

// A signature field added (or an empty one filled) by an update.
struct NewSignature {
  int revision = 0;
  pdf::Ref field;                  // the merged field/widget dictionary
  pdf::Ref value;                  // its /V: a new signature or document timestamp dictionary
  bool doc_timestamp = false;      // /Type /DocTimeStamp
  std::optional<std::size_t> page;  // 0-based page its widget is on (nullopt: invisible)
  std::array<double, 4> rect{};     // normalised x1 <= x2, y1 <= y2, PDF user space
};

struct UpdateAnalysis {
  std::vector<Change> changes;
  std::vector<NewSignature> signatures;
  std::size_t objects = 0;  // objects (re)defined by the update (counts against the limits)
};

// `prev` = the document up to revision `index - 1`, `cur` = up to revision `index`, `rev` = the
// cross-reference section of revision `index`. More than `max_objects` objects redefined: one
// "other" change for the trailer, nothing analysed.
UpdateAnalysis classify_update(const pdf::Document& prev, const pdf::Document& cur, int index,
                               const pdf::Revision& rev, std::size_t max_objects);

}  // namespace libcert::detail
