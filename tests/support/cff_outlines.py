#!/usr/bin/python3
"""An independent reading of a CFF subset written by libcert (cff_subset.h), with fontTools (Debian
python3-fonttools), against the source font's own glyphs:

    cff_outlines.py SOURCE.ttc FACE SUBSET.cff CID...

fontTools parses SUBSET.cff as a bare CFF table and must find a CID-keyed font (ROS) with no global
and no local subroutines, no hinting parameter in a Private DICT and an empty .notdef; each CID's charstring is decompiled and must hold no hint operator and no
subroutine call; drawn with a RecordingPen it must give exactly the path (same points, same
operators) and the same advance width as the source face's glyph of that CID drawn through its own
subroutines. Prints "ok N glyphs" or the first difference, and exits 1 on any difference.
"""
import io
import sys

from fontTools.cffLib import CFFFontSet
from fontTools.pens.recordingPen import RecordingPen
from fontTools.ttLib import TTFont

HINTS = {"hstem", "vstem", "hstemhm", "vstemhm", "hintmask", "cntrmask"}
CALLS = {"callsubr", "callgsubr"}


def draw(cs):
    pen = RecordingPen()
    cs.draw(pen)
    return pen.value, cs.width


def main(source, face, subset_file, cids):
    src = TTFont(source, fontNumber=int(face), lazy=True)
    src_top = src["CFF "].cff.topDictIndex[0]
    src_cs = src_top.CharStrings
    order = src.getGlyphOrder()
    with open(subset_file, "rb") as f:
        sub = CFFFontSet()
        sub.decompile(io.BytesIO(f.read()), None)
    top = sub.topDictIndex[0]
    if not hasattr(top, "ROS"):
        sys.exit("not CID-keyed: no ROS")
    if len(sub.GlobalSubrs) != 0:
        sys.exit(f"{len(sub.GlobalSubrs)} global subroutines")
    for fd in top.FDArray:
        if getattr(fd.Private, "Subrs", None):
            sys.exit("a Private DICT has local subroutines")
        # Without hints, no hinting parameter either (CFF §15 Table 23): only the widths' two.
        extra = set(fd.Private.rawDict) - {"defaultWidthX", "nominalWidthX"}
        if extra:
            sys.exit(f"a Private DICT has hinting parameters {sorted(extra)}")
    notdef = top.CharStrings[top.charset[0]]
    notdef.decompile()
    if [t for t in notdef.program if not isinstance(t, int)] != ["endchar"]:
        sys.exit(f".notdef is not empty: {notdef.program}")
    names = top.charset
    n = 0
    for cid in cids:
        name = f"cid{int(cid):05d}"
        if name not in names:
            sys.exit(f"CID {cid} not in the subset's charset")
        cs = top.CharStrings[name]
        cs.decompile()
        ops = {t for t in cs.program if isinstance(t, str)}
        if ops & (HINTS | CALLS):
            sys.exit(f"CID {cid}: operators {sorted(ops & (HINTS | CALLS))} left")
        got = draw(cs)
        want = draw(src_cs[order[int(cid)]])
        if got != want:
            sys.exit(f"CID {cid}: outline or width differs\n got  {got}\n want {want}")
        n += 1
    print(f"ok {n} glyphs")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:])
