#!/usr/bin/env python3
"""bench/pdf_bytes.py — where a sealed licence's bytes are, by kind of object (issue 21 point 2).

    python3 bench/pdf_bytes.py FILE.pdf [FILE.pdf ...]     # one table per file
    python3 bench/pdf_bytes.py --median DIR                # the median file of DIR/*.pdf, and the
                                                           # median of every kind over the files

Walks the file from its first byte to its last, object by object (every revision: the seal's
incremental update too), so the rows add up to the file's size. A stream's row is its bytes in the
file ("n 0 obj", dictionary, compressed data, "endstream endobj"); an object stream's bytes are
shared out among its members in proportion to their uncompressed sizes (an estimate: deflate does
not compress every member alike). Kinds are found from the objects themselves: a font program is
named by the FontDescriptor that points at it, a ToUnicode CMap by the font whose /ToUnicode it is,
a content stream by the page's /Contents. The signature dictionary's /Contents is split into the
CMS (DER length, as hex) and the zero padding after it. Only the Python standard library is used.
"""
import glob
import os
import re
import statistics
import sys
import zlib

OBJ = re.compile(rb"(\d+) (\d+) obj\s*")
REF = rb"(\d+) 0 R"


def dict_end(b, i):
    """The index just past the dictionary that starts at b[i] == '<<' (strings and nesting)."""
    depth = 0
    n = len(b)
    while i < n:
        c = b[i:i + 2]
        if c == b"<<":
            depth += 1
            i += 2
            continue
        if c == b">>":
            depth -= 1
            i += 2
            if depth == 0:
                return i
            continue
        ch = b[i:i + 1]
        if ch == b"(":  # literal string, balanced parentheses and escapes (ISO 32000-1 §7.3.4.2)
            lvl = 0
            while i < n:
                if b[i:i + 1] == b"\\":
                    i += 2
                    continue
                if b[i:i + 1] == b"(":
                    lvl += 1
                elif b[i:i + 1] == b")":
                    lvl -= 1
                    if lvl == 0:
                        break
                i += 1
        elif ch == b"<":  # hex string
            i = b.index(b">", i)
        i += 1
    raise ValueError("unterminated dictionary")


class Obj:
    def __init__(self, num, dict_bytes, data, size, in_stream=None):
        self.num, self.dict, self.data, self.size, self.in_stream = num, dict_bytes, data, size, in_stream
        self.kind = None


def walk(pdf):
    """Top-level pieces in file order: ('header'|'tail', bytes) or ('obj', Obj)."""
    pieces = []
    m = OBJ.search(pdf)
    pieces.append(("header", m.start()))
    i = m.start()
    while i < len(pdf):
        m = OBJ.match(pdf, i)
        if m is None:
            j = pdf.find(b"%%EOF", i)
            if j < 0:
                pieces.append(("tail", len(pdf) - i))
                break
            j += 5
            while j < len(pdf) and pdf[j:j + 1] in b"\r\n":
                j += 1
            pieces.append(("tail", j - i))  # "startxref n %%EOF" (or a classic trailer)
            i = j
            continue
        start = m.end()
        d, data = b"", None
        if pdf[start:start + 2] == b"<<":
            e = dict_end(pdf, start)
            d = pdf[start:e]
            k = e
            while pdf[k:k + 1] in b" \r\n":
                k += 1
            if pdf[k:k + 6] == b"stream":
                k += 6
                k += 2 if pdf[k:k + 2] == b"\r\n" else 1
                ln = re.search(rb"/Length (\d+)(?! \d+ R)", d)
                end = k + int(ln.group(1)) if ln else pdf.index(b"endstream", k)
                data = pdf[k:end]
                if b"/FlateDecode" in d:
                    data = zlib.decompress(data)
        stop = pdf.index(b"endobj", start if data is None else start + len(d)) + 6
        while stop < len(pdf) and pdf[stop:stop + 1] in b"\r\n":
            stop += 1
        pieces.append(("obj", Obj(int(m.group(1)), d if data is not None else pdf[start:stop], data, stop - i)))
        i = stop
    return pieces


def breakdown(path):
    pdf = open(path, "rb").read()
    pieces = walk(pdf)
    objs = []  # every object: top-level ones and object-stream members
    for kind, p in pieces:
        if kind != "obj":
            continue
        objs.append(p)
        if b"/Type/ObjStm" in p.dict.replace(b" /", b"/"):
            first = int(re.search(rb"/First (\d+)", p.dict).group(1))
            nums = list(map(int, p.data[:first].split()))
            pairs = list(zip(nums[0::2], nums[1::2]))
            body = p.data[first:]
            members = []
            for k, (n, off) in enumerate(pairs):
                end = pairs[k + 1][1] if k + 1 < len(pairs) else len(body)
                members.append(Obj(n, body[off:end].strip(), None, 0, p))
            total = sum(len(o.dict) for o in members) or 1
            for o in members:
                o.size = p.size * len(o.dict) / total
            p.members = members
            objs.extend(members)
    latest = {}
    for o in objs:
        latest[o.num] = o  # later revisions override
    # Who refers to what.
    label = {}
    for o in objs:
        t = o.dict.replace(b" /", b"/").replace(b" <<", b"<<")
        if b"/Type/FontDescriptor" in t:
            name = re.search(rb"/FontName/([^/\s\[<>]+)", t).group(1).decode()
            ff = re.search(rb"/FontFile([23]?) " + REF, t)
            if ff:
                kind = "font program, CFF" if ff.group(1) == b"3" else "font program, TrueType"
                label[int(ff.group(2))] = f"{kind} ({name.split('+')[-1]})"
        if b"/ToUnicode" in t:
            label[int(re.search(rb"/ToUnicode " + REF, t).group(1))] = "ToUnicode CMap"
        if b"/Type/Page" in t and b"/Type/Pages" not in t:
            c = re.search(rb"/Contents\s*\[?([\d\s0R]+)\]?", t)
            refs = re.findall(REF, c.group(1)) if c else []
            for k, n in enumerate(refs):
                # The own writer's page: the template's static stream, then the licence's.
                label[int(n)] = ("page content, variable (values; the QR too when it was a path)" if k == len(refs) - 1
                                 else "page content, static (frame, constant text)")
        if (md := re.search(rb"/Metadata " + REF, t)) is not None:
            label[int(md.group(1))] = "XMP metadata"
    rows = {}

    def add(kind, size, raw=0):
        r = rows.setdefault(kind, [0, 0.0, 0])
        r[0] += 1
        r[1] += size
        r[2] += raw

    for kind, p in pieces:
        if kind == "header":
            add("header, startxref/%%EOF", p)
            continue
        if kind == "tail":
            add("header, startxref/%%EOF", p)
            continue
        t = p.dict.replace(b" /", b"/")
        if hasattr(p, "members"):
            for o in p.members:
                add(classify_plain(o), o.size, len(o.dict))
            continue
        if b"/Type/XRef" in t:
            add("cross-reference stream", p.size, len(p.data or b""))
        elif p.num in label and p.data is not None:
            add(label[p.num], p.size, len(p.data))
        elif b"/Subtype/Image" in t and b"/ImageMask true" in t:
            add("QR image mask", p.size, len(p.data or b""))
        elif b"/Subtype/Form" in t:
            add("form XObject (seal drawing; signature appearance)", p.size, len(p.data or b""))
        elif b"/Type/Sig" in t:
            m = re.search(rb"/Contents\s*<([0-9A-Fa-f]*)>", p.dict)
            hexs = m.group(1)
            raw = bytes.fromhex(hexs.decode())
            # DER length of the ContentInfo (X.690 §8.1.3).
            ln = raw[1]
            cms = 2 + ln if ln < 0x80 else 2 + (ln & 0x7F) + int.from_bytes(raw[2:2 + (ln & 0x7F)], "big")
            add("signature: CMS (as hex)", 2 * cms)
            add("signature: /Contents zero padding", len(hexs) - 2 * cms)
            add("signature dictionary, rest", p.size - len(hexs))
        else:
            add(classify_plain(p) + (" (seal's update)" if p.num in (latest.keys()) and latest[p.num] is not p else ""), p.size, len(p.dict))
    return len(pdf), rows


def classify_plain(o):
    t = o.dict.replace(b" /", b"/")
    if b"/Type/Font" in t and b"/Subtype/Type0" in t:
        return "font dictionaries (Type0, CIDFont with /W, descriptor)"
    if b"/Type/Font" in t or b"/Type/FontDescriptor" in t:
        return "font dictionaries (Type0, CIDFont with /W, descriptor)"
    if b"/Type/Catalog" in t or b"/Type/Pages" in t or b"/Type/Page" in t:
        return "catalog, pages, page"
    if b"/CreationDate" in t or b"/Creator" in t or b"/Producer" in t:
        return "document information"
    if b"/Type/Annot" in t or b"/Type/Sig" in t or b"/TransformMethod" in t or b"/Type/DocMDP" in t:
        return "signature field, DocMDP"
    return "other objects"


def table(path, size, rows):
    print(f"{os.path.basename(path)}: {size} B")
    print("| kind | objects | bytes | % | uncompressed |")
    print("|---|---:|---:|---:|---:|")
    for k, (n, b, raw) in sorted(rows.items(), key=lambda kv: -kv[1][1]):
        print(f"| {k} | {n} | {b:,.0f} | {100 * b / size:.1f} | {f'{raw:,}' if raw else '-'} |")
    print()


def main(argv):
    if len(argv) >= 2 and argv[0] == "--median":
        files = sorted(glob.glob(os.path.join(argv[1], "*.pdf")))
        results = [(p,) + breakdown(p) for p in files]
        results.sort(key=lambda r: r[1])
        med = results[len(results) // 2]  # the upper median, as bench/issue_bench reports it
        print(f"{len(results)} files: median {med[1]} B ({os.path.basename(med[0])}), "
              f"max {results[-1][1]} B ({os.path.basename(results[-1][0])})\n")
        table(*med)
        kinds = sorted({k for r in results for k in r[2]})
        print("median over the files, by kind (B):")
        print("| kind | median | min | max |")
        print("|---|---:|---:|---:|")
        for k in sorted(kinds, key=lambda k: -statistics.median(r[2].get(k, [0, 0])[1] for r in results)):
            v = [r[2].get(k, [0, 0])[1] for r in results]
            print(f"| {k} | {statistics.median(v):,.0f} | {min(v):,.0f} | {max(v):,.0f} |")
        return 0
    for p in argv:
        table(p, *breakdown(p))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
