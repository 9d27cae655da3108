#!/usr/bin/env python3
"""Regenerates the seed corpora of fuzz_template, fuzz_issue_request and fuzz_certd_http from the
real templates (run from anywhere; writes into tests/fuzz/corpus/). The seeds are real inputs, so
the fuzzers start from the deep paths (a template that loads, data that validates, a request that
issues) instead of having to discover JSON and HTTP syntax first."""
import json
import pathlib
import re

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parent.parent
TPL = ROOT / "templates"
CORPUS = HERE / "corpus"

glossary = json.loads((TPL / "glossary.json").read_text())
departments = json.loads((TPL / "departments.json").read_text())
ADMIN = "lic_" + "a" * 52
SAMR = "lic_" + "b" * 52
ISSUED = "1.2.156.3005.2.11100000000013338W001.115425000199003834.2026000001.001.1"


def dump(obj):
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


def write(target, name, data):
    d = CORPUS / target
    d.mkdir(parents=True, exist_ok=True)
    (d / name).write_bytes(data if isinstance(data, bytes) else data.encode())


ids = sorted(p.name for p in TPL.iterdir() if (p / "manifest.json").exists())

# fuzz_template: manifest \0 glossary (only the keys the manifest and its department use)
# \0 departments.json (only its department) \0 sample data.
for tid in ids[::4]:
    manifest_text = (TPL / tid / "manifest.json").read_text()
    manifest = json.loads(manifest_text)
    dept = [d for d in departments["departments"] if d["id"] == manifest["department"]]
    used = manifest_text + dump(dept)
    entries = {k: v for k, v in glossary["entries"].items()
               if re.search(r'["#]' + re.escape(k) + r'["}:]', used)}
    g = dict(glossary)
    g["entries"] = entries
    deps = dict(departments)
    deps["departments"] = dept
    sample = (TPL / tid / "sample.json").read_text()
    write("fuzz_template", tid,
          "\0".join([dump(manifest), dump(g), dump(deps), dump(json.loads(sample))]))

# fuzz_issue_request: the certd request body of every template's sample.
for tid in ids:
    sample = json.loads((TPL / tid / "sample.json").read_text())
    write("fuzz_issue_request", tid, dump({"template": tid, "data": sample}))


# fuzz_certd_http: one request per route, with the fuzz principals' keys.
def req(method, target, headers=(), body=""):
    lines = [f"{method} {target} HTTP/1.1", "Host: localhost"] + list(headers)
    return "\r\n".join(lines) + "\r\n\r\n" + body


sample = json.loads((TPL / "business-licence-enterprise" / "sample.json").read_text())
issue = dump({"template": "business-licence-enterprise", "data": sample})
auth = f"Authorization: Bearer {SAMR}"
seeds = {
    "healthz": req("GET", "/healthz"),
    "readyz": req("GET", "/readyz"),
    "metrics": req("GET", "/metrics"),
    "openapi": req("GET", "/v1/openapi.json"),
    "templates": req("GET", "/v1/templates", [auth]),
    "template": req("GET", "/v1/templates/business-licence-enterprise", [f"X-Api-Key: {SAMR}"]),
    "issue": req("POST", "/v1/licences",
                 [auth, "Content-Type: application/json", "Idempotency-Key: fuzz-1"], issue),
    "issue-pdf": req("POST", "/v1/licences", [auth, "Content-Type: application/json",
                                              "Idempotency-Key: fuzz-2",
                                              "Accept: application/pdf"], issue),
    "batch": req("POST", "/v1/licences:batch", [auth, "Content-Type: application/json",
                                                "Idempotency-Key: fuzz-3"],
                 dump({"items": [json.loads(issue)]})),
    "list": req("GET", "/v1/licences?limit=5&status=valid", [f"Authorization: Bearer {ADMIN}"]),
    # The identifier the "issue" seed gets in a fresh registry.
    "get": req("GET", f"/v1/licences/{ISSUED}", [auth]),
    "get-pdf": req("GET", f"/v1/licences/{ISSUED}/pdf", [auth]),
    "pdf": req("GET", "/v1/licences/1.2.156.3005.2.X/pdf", [auth]),
    "get-ofd": req("GET", f"/v1/licences/{ISSUED}/ofd", [auth]),
    "issue-formats": req("POST", "/v1/licences", [auth, "Content-Type: application/json",
                                                  "Idempotency-Key: fuzz-4"],
                         dump(dict(json.loads(issue), formats=["pdf", "ofd"]))),
    "revoke": req("POST", "/v1/licences/1.2.156.3005.2.X/revoke",
                  [auth, "Content-Type: application/json"], dump({"reason": "fuzz"})),
    "verify-qr": req("POST", "/v1/verify", ["Content-Type: application/json"],
                     dump({"qr": (CORPUS / "fuzz_qr_payload" / "app-base45.txt").read_text()
                           .strip()})),
    "no-auth": req("DELETE", "/v1/licences"),
}
for name, text in seeds.items():
    write("fuzz_certd_http", name, text)
write("fuzz_certd_http", "verify-ofd",
      req("POST", "/v1/verify", ["Content-Type: application/ofd"]).encode()
      + (ROOT / "tests" / "data" / "ofd" / "ofdrw_signedFile.ofd").read_bytes())
write("fuzz_certd_http", "verify-pdf",
      req("POST", "/v1/verify", ["Content-Type: application/pdf"]).encode()
      + (CORPUS / "fuzz_verify_pdf" / "valid.pdf").read_bytes())
