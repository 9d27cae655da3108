#!/usr/bin/python3
"""Seeds for fuzz_cff: CID-keyed CFF tables cut from Noto Serif CJK SC (Debian fonts-noto-cjk) by
fontTools' subsetter (Debian python3-fonttools) with their global/local subroutines and hints kept,
so that mutations reach the charstring interpreter's subroutine calls and hint masks. The first byte
of each seed is fuzz_cff's selector (bit 0: keep hints).

    /usr/bin/python3 tests/fuzz/make_cff_seeds.py tests/fuzz/corpus/fuzz_cff
"""
import io
import sys

from fontTools import subset
from fontTools.ttLib import TTFont

NOTO = "/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc"
SEEDS = [  # (name, selector byte, text)
    ("noto-sc-subrs-drop-hints", 0x00, "藏汉双语电子证照营业执照有限公司"),
    ("noto-sc-subrs-keep-hints", 0x0B, "西藏自治区拉萨市城关区北京中路"),
]


def cut(text):
    font = TTFont(NOTO, fontNumber=2, lazy=True)  # face 2: Noto Serif CJK SC
    opts = subset.Options()
    opts.desubroutinize = False
    opts.hinting = True
    opts.notdef_outline = True
    opts.layout_features = []
    opts.drop_tables += ["GSUB", "GPOS", "GDEF", "BASE", "VORG", "vhea", "vmtx"]
    s = subset.Subsetter(opts)
    s.populate(text=text)
    s.subset(font)
    buf = io.BytesIO()
    font["CFF "].cff.compile(buf, font)
    return buf.getvalue()


def main(out_dir):
    for name, sel, text in SEEDS:
        with open(f"{out_dir}/{name}", "wb") as f:
            f.write(bytes([sel]) + cut(text))


if __name__ == "__main__":
    main(sys.argv[1])
