#!/usr/bin/env python3
"""Compute the invented-but-valid codes used in templates/*/sample.json.

Nothing here is a real person's or organisation's code: area codes are Ali prefecture's
(5425xx), organisation and sequence numbers are invented. The check characters are computed:

- GB 11714 organisation code (9 chars): weights 3,7,9,10,5,8,4,2; 11 - (sum mod 11),
  10 -> 'X', 11 -> '0'.
- GB 32100 USCC (18 chars): alphabet 0-9A-HJ-NP-RTUWXY (31 symbols), weights
  1,3,9,27,19,26,16,17,20,29,25,13,8,24,10,30,28; 31 - (sum mod 31), 31 -> '0'.
- GB 11643 resident ID (18 chars): weights 7,9,10,5,8,4,2,1,6,3,7,9,10,5,8,4,2;
  "10X98765432"[sum mod 11]; the 17th digit is odd for men, even for women.
- ISO 7064 MOD 11,10 (GB/T 17710) over the 14 digits of a food licence number (JY/SC).
  The rule is not published in the text we could read; it was established by recomputing
  real numbers printed in public sources (JY11108071215650, JY11105050876919,
  JY13301080111719, SC11351090100010, SC10741018302531, SC12434017430075,
  SC10744030704994): all seven verify, see self_test().

Run: python3 tests/data/gen_codes.py          (prints every sample code as JSON)
     python3 tests/data/gen_codes.py --check  (self-test only)
"""
import json
import sys

USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28]
ORG_WEIGHTS = [3, 7, 9, 10, 5, 8, 4, 2]
ID_WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]


def org_check(body8: str) -> str:
    # GB 11714: characters valued 0-9, A=10 ... Z=35
    s = sum(int(c, 36) * w for c, w in zip(body8, ORG_WEIGHTS))
    c = 11 - s % 11
    return "X" if c == 10 else "0" if c == 11 else str(c)


def uscc_check(body17: str) -> str:
    s = sum(USCC_ALPHABET.index(c) * w for c, w in zip(body17, USCC_WEIGHTS))
    c = 31 - s % 31
    return USCC_ALPHABET[0 if c == 31 else c]


def uscc(dept_kind: str, area: str, org8: str) -> str:
    """dept_kind: 2 chars (91 enterprise, 92 individual, 93 cooperative, 51 social
    organisation, 52 private non-enterprise unit, 12 public institution)."""
    assert len(dept_kind) == 2 and len(area) == 6 and len(org8) == 8
    org9 = org8 + org_check(org8)
    body = dept_kind + area + org9
    for c in body:
        if c not in USCC_ALPHABET:
            raise ValueError(f"{body}: '{c}' not allowed in a USCC")
    return body + uscc_check(body)


def id_number(area: str, birth: str, seq3: int, male: bool) -> str:
    # the 17th digit (last of the 3-digit sequence) carries the sex
    if (seq3 % 2 == 1) != male:
        seq3 += 1
    body = f"{area}{birth}{seq3:03d}"
    s = sum(int(c) * w for c, w in zip(body, ID_WEIGHTS))
    return body + "10X98765432"[s % 11]


def mod11_10(digits: str) -> str:
    p = 10
    for c in digits:
        r = (p + int(c)) % 10
        p = (2 * (10 if r == 0 else r)) % 11
    return str((11 - p) % 10)


def food_number(prefix: str, digits13: str) -> str:
    assert prefix in ("JY", "SC") and len(digits13) == 13 and digits13.isdigit()
    return prefix + digits13 + mod11_10(digits13)


def self_test():
    for v in ["91350100M000100Y43", "11100000000013338W", "11220000013544541J"]:
        assert uscc_check(v[:17]) == v[17], v
        assert org_check(v[8:16]) == v[16], v
    for v in ["11010519491231002X", "440524188001010014"]:
        s = sum(int(c) * w for c, w in zip(v[:17], ID_WEIGHTS))
        assert "10X98765432"[s % 11] == v[17], v
    for v in ["JY11108071215650", "JY11105050876919", "JY13301080111719",
              "SC11351090100010", "SC10741018302531", "SC12434017430075",
              "SC10744030704994"]:
        assert mod11_10(v[2:15]) == v[15], v


# Ali prefecture county codes (GB/T 2260)
PURANG, ZANDA, GAR, RUTOG, GEGYAI, GERTSE, COQEN = (
    "542521", "542522", "542523", "542524", "542525", "542526", "542527")
PREFECTURE = "542500"


def sample_codes():
    c = {}
    # --- organisations (invented organisation codes, MA6T... / MJ... as issued after 2015)
    c["uscc.individual.gar"] = uscc("92", GAR, "MA6T2K8L")
    c["uscc.cooperative.gertse"] = uscc("93", GERTSE, "MA6T3C41")
    c["uscc.restaurant.gar"] = uscc("91", GAR, "MA6T4D27")
    c["uscc.dairy.purang"] = uscc("91", PURANG, "MA6T5B60")
    c["uscc.pharmacy.gar"] = uscc("91", GAR, "MA6T6R13")
    c["uscc.hospital.prefecture"] = uscc("12", PREFECTURE, "4579A213")
    c["uscc.society.prefecture"] = uscc("51", PREFECTURE, "MJ0Y3082")
    c["uscc.kindergarten.gar"] = uscc("52", GAR, "MJ0Y4117")
    c["uscc.clinic.gar"] = uscc("52", GAR, "MJ0Y5261")
    c["uscc.hotel.gar"] = uscc("91", GAR, "MA6T7H95")
    c["uscc.transport.prefecture"] = uscc("91", PREFECTURE, "MA6T8N04")
    c["uscc.builder.gar"] = uscc("11", GAR, "01990231")
    c["uscc.contractor.prefecture"] = uscc("91", PREFECTURE, "MA6T9E52")
    c["uscc.cement.rutog"] = uscc("91", RUTOG, "MA6TAP38")
    c["uscc.waterworks.gar"] = uscc("91", GAR, "MA6TBW71")
    c["uscc.travel.prefecture"] = uscc("91", PREFECTURE, "MA6TCU26")
    # --- people (invented; real calendar dates)
    c["id.gesang-zhuoma"] = id_number(GAR, "19880314", 42, male=False)
    c["id.zhaxi-dunzhu"] = id_number(GERTSE, "19790721", 13, male=True)
    c["id.danzeng-pingcuo"] = id_number(GAR, "19850902", 57, male=True)
    c["id.ciren-duoji"] = id_number(PURANG, "19930517", 31, male=True)
    c["id.yangjin-lamu"] = id_number(ZANDA, "19950208", 26, male=False)
    c["id.luobu-ciren"] = id_number(RUTOG, "19870611", 75, male=True)
    c["id.baima-yangzong"] = id_number(GEGYAI, "19890925", 64, male=False)
    c["id.ciren-yangzong.mother"] = id_number(GAR, "19960430", 18, male=False)
    c["id.pubu-zhaxi.father"] = id_number(COQEN, "19940112", 39, male=True)
    c["id.deji-zhuoma"] = id_number(GAR, "19900808", 52, male=False)
    c["id.wang-jianguo"] = id_number("510105", "19820316", 91, male=True)  # Han, from Chengdu
    c["id.zhaxi.disabled"] = id_number(GEGYAI, "19680403", 11, male=True)
    c["id.quzhen.guardian"] = id_number(GEGYAI, "19700519", 22, male=False)
    c["id.li-min"] = id_number("420106", "19910727", 48, male=False)  # Han, from Wuhan
    c["id.basang.driver"] = id_number(GAR, "19860130", 35, male=True)
    c["id.ciren-duoji.owner"] = c["id.ciren-duoji"]
    # --- food licences: main format 2 = 餐饮服务经营者; category 105 = 乳制品
    c["jy.restaurant.gar"] = food_number("JY", "2" + GAR + "000087")
    c["sc.dairy.purang"] = food_number("SC", "105" + PURANG + "0003")
    # --- disability certificate number: ID + category (4 肢体) + grade (2)
    c["disability.number"] = c["id.zhaxi.disabled"] + "42"
    return c


if __name__ == "__main__":
    self_test()
    if "--check" not in sys.argv:
        print(json.dumps(sample_codes(), ensure_ascii=False, indent=2))
