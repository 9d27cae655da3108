#!/usr/bin/env bash
# md2man.sh — the man pages' one source is docs/man/<page>.<section>.md (readable as Markdown);
# this turns that small Markdown subset into roff for man(1). Used by the build (cmake/man.cmake).
#
#   scripts/md2man.sh docs/man/certd.8.md 0.1.0 [OUT]      (default: standard output)
#
# Subset: "# NAME(S) — summary" title line; "## HEADING" sections; paragraphs; "- item" bullets;
# "`term`" alone on a line followed by ": text" lines as a definition (.TP); fenced ``` blocks
# as literal text; `code` and **bold** inline become bold.
set -euo pipefail
src=$1 version=${2:-}
if [ -n "${3:-}" ]; then exec >"$3"; fi
base=$(basename "$src" .md) name=${base%.*} section=${base##*.}
awk -v name="$name" -v section="$section" -v version="$version" '
function inline(s) {
  gsub(/\\/, "\\e", s)
  gsub(/^\./, "\\\\\\&.", s); gsub(/^'\''/, "\\\\\\&'\''", s)
  while (match(s, /\*\*[^*]+\*\*/)) s = substr(s, 1, RSTART-1) "\\fB" substr(s, RSTART+2, RLENGTH-4) "\\fR" substr(s, RSTART+RLENGTH)
  while (match(s, /`[^`]+`/)) s = substr(s, 1, RSTART-1) "\\fB" substr(s, RSTART+1, RLENGTH-2) "\\fR" substr(s, RSTART+RLENGTH)
  gsub(/-/, "\\-", s)
  return s
}
BEGIN { print ".TH \"" toupper(name) "\" \"" section "\" \"\" \"libcert " version "\" \"libcert\"" }
/^```/ { if (lit) { print ".fi"; print ".RE"; lit = 0 } else { print ".RS 2"; print ".nf"; lit = 1 }; next }
lit { gsub(/\\/, "\\e"); sub(/^\./, "\\\\\\&."); print; next }
/^# / { sub(/^# /, ""); split($0, p, " — "); print ".SH NAME"; print inline(name) " \\- " inline(p[2]); next }
/^## / { sub(/^## /, ""); print ".SH " toupper($0); next }
/^- / { sub(/^- /, ""); print ".IP \\(bu 2"; print inline($0); next }
/^`[^`]+`$/ { print ".TP"; print inline($0); dl = 1; next }
/^: / { sub(/^: /, ""); print inline($0); next }
/^$/ { if (!dl) print ".PP"; dl = 0; next }
{ print inline($0) }
' "$src"
