// verify_diff.h (private) — difference analysis of one incremental update, after pyHanko's model
// (pyhanko/sign/diff_analysis): every object an update (re)defines is compared with its previous
// version, and whitelist rules explain each change:
//   lta-update    /DSS and everything only it reaches, catalog /Extensions, a document timestamp
//                 field, the document information dictionary (metadata, not displayed);
//   form-filling  a new signature field (its widget, signature dictionary, appearance streams),
//                 filling an empty signature field, appending its widget to a page's /Annots and
//                 its field to the AcroForm's /Fields, /SigFlags;
//   other         anything else: a page's /Contents or /Resources, a new or removed page, a changed
//                 page tree, a new catalog, annotations other than signature widgets, a new object
//                 that an old object references (a "free slot" filled in later), an object that
//                 cannot be read.
// Whether a class is allowed depends on the certification level and is decided by the caller.
//
//   auto changes = libcert::detail::classify_update(prev, cur, 2, cur_rev, 100000);
//
// Never throws for malformed input: an unreadable object is an "other" change.
#pragma once

#include <cstddef>
#include <vector>

#include "libcert/pdf.h"
#include "libcert/verify.h"

namespace libcert::detail {

// `prev` = the document up to revision `index - 1`, `cur` = up to revision `index`, `rev` = the
// cross-reference section of revision `index`.
std::vector<Change> classify_update(const pdf::Document& prev, const pdf::Document& cur, int index,
                                    const pdf::Revision& rev, std::size_t max_objects);

}  // namespace libcert::detail
