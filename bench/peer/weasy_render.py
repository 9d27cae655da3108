#!/usr/bin/python3
"""Peer pipeline for bench/peer.sh: the same sample licences as HTML -> PDF with WeasyPrint.

For every template: bilingual title, one row per face field (Tibetan and Chinese label, the
sample value), the department's seal (our seal-image SVG) and the licence's QR (an SVG made by
the qrencode CLI from the exact text our issuance put in the QR), in the same fonts as ours
(Noto Serif Tibetan, AR PL UMing CN). Times write_pdf() in-process (median of REPEATS runs per
template, after one warm-up) and prints one TSV row per template: id, median ms, bytes, median
CPU ms of the process (time.process_time).

usage: weasy_render.py TEMPLATES_DIR WORK_DIR REPEATS
WORK_DIR holds <id>.qr.svg and <dept>.seal.svg (made by peer.sh); <id>.peer.pdf is written there.
"""
import html
import json
import os
import statistics
import sys
import time

import weasyprint

CSS = """
@page { size: A4; margin: 18mm; }
body { font-family: "Noto Serif Tibetan", "AR PL UMing CN"; font-size: 11pt; color: #111; }
h1 { text-align: center; font-size: 20pt; margin: 0 0 2mm 0; }
h2 { text-align: center; font-size: 13pt; margin: 0 0 6mm 0; font-weight: normal; }
table { width: 100%; border-collapse: collapse; }
td { border-bottom: 0.3pt solid #999; padding: 1.5mm 2mm; vertical-align: top; }
td.l { width: 38%; color: #333; }
.foot { position: relative; height: 45mm; margin-top: 8mm; }
.seal { position: absolute; right: 30mm; top: 0; width: 42mm; height: 42mm; }
.qr { position: absolute; left: 0; top: 0; width: 45mm; height: 45mm; }
"""


def main():
    tdir, work, repeats = sys.argv[1], sys.argv[2], int(sys.argv[3])
    glossary = json.load(open(os.path.join(tdir, "glossary.json"), encoding="utf-8"))["entries"]
    for tid in sorted(os.listdir(tdir)):
        man_path = os.path.join(tdir, tid, "manifest.json")
        if not os.path.exists(man_path):
            continue
        man = json.load(open(man_path, encoding="utf-8"))
        data = json.load(open(os.path.join(tdir, tid, "sample.json"), encoding="utf-8"))
        title = glossary[man["title"]]
        rows = []
        for f in man["fields"]:
            label = glossary.get(f.get("label", ""), {"bo": "", "zh": f["name"]})
            value = data.get(f["name"], "")
            if value == "":
                continue
            rows.append('<tr><td class="l">%s<br>%s</td><td>%s</td></tr>' % (
                html.escape(label["bo"]), html.escape(label["zh"]), html.escape(str(value))))
        dept = man["department"]
        doc = """<html><head><meta charset="utf-8"></head><body>
<h1>%s</h1><h2>%s</h2><table>%s</table>
<div class="foot"><img class="qr" src="%s.qr.svg"><img class="seal" src="%s.seal.svg"></div>
</body></html>""" % (html.escape(title["zh"]), html.escape(title["bo"]), "".join(rows), tid, dept)
        base = "file://" + os.path.abspath(work) + "/"
        css = weasyprint.CSS(string=CSS)
        weasyprint.HTML(string=doc, base_url=base).write_pdf(stylesheets=[css])  # warm-up
        times = []
        cpu = []
        pdf = b""
        for _ in range(repeats):
            t0 = time.perf_counter()
            c0 = time.process_time()
            pdf = weasyprint.HTML(string=doc, base_url=base).write_pdf(stylesheets=[css])
            times.append((time.perf_counter() - t0) * 1000)
            cpu.append((time.process_time() - c0) * 1000)
        out = os.path.join(work, tid + ".peer.pdf")
        with open(out, "wb") as fh:
            fh.write(pdf)
        print("%s\t%.2f\t%d\t%.2f" % (tid, statistics.median(times), len(pdf), statistics.median(cpu)),
              flush=True)


if __name__ == "__main__":
    main()
