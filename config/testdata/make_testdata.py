#!/usr/bin/env python3
"""Regenerates the synthetic identity book and its test face images.

Every person, number and card here is invented. ID numbers get valid GB
11643 check characters and cards valid Luhn digits, computed below rather
than typed, so the book stays valid when someone edits it: change PEOPLE and
run this script from anywhere.

Face convention (adapters/mock_support/face.h): a face's identity is the
lowercase hex SHA-256 of the image bytes before the first "#LIVENESS:"
marker; "#LIVENESS:FAIL" anywhere means liveness fails.
"""

import hashlib
import json
import os
import struct
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
FACES = os.path.join(HERE, "faces")

WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
CHECK = "10X98765432"


def id_check(first17):
    return CHECK[sum(int(d) * w for d, w in zip(first17, WEIGHTS)) % 11]


def resident_id(region, birth, seq):
    """seq: 3 digits; its last digit is odd for men, even for women."""
    first17 = region + birth + seq
    assert len(first17) == 17, first17
    return first17 + id_check(first17)


def luhn_complete(partial):
    """Appends the Luhn check digit to `partial`."""
    total = 0
    for i, d in enumerate(reversed(partial)):
        n = int(d)
        if i % 2 == 0:  # doubled: these sit right before the check digit
            n *= 2
            if n > 9:
                n -= 9
        total += n
    return partial + str((10 - total % 10) % 10)


def card(bin6, serial):
    return luhn_complete(bin6 + "%012d" % serial)


# (label, name, region, birth, seq, mobiles [(number, operator)],
#  cards [(bin, serial, reserved mobile, state)], has_id_photo, image ext)
PEOPLE = [
    ("adult-match", "测试甲", "110101", "19900307", "013",
     [("13800000001", "CMCC")],
     [("622202", 1, "13800000001", "ACTIVE")], True, "jpg"),
    ("carrier-mismatch", "王测试", "310101", "19850612", "035",
     [], [], True, "jpg"),
    ("no-record", "赵测试", "440305", "19920815", "026",
     [], [], True, "jpg"),
    ("bank-mismatch", "欧阳测试", "330106", "19880228", "048",
     [("18600000004", "CUCC")],
     [("622848", 4, "18600000004", "ACTIVE")], True, "jpg"),
    ("card-lost", "钱测试", "510104", "19791103", "057",
     [("13900000005", "CMCC")],
     [("621700", 5, "13900000005", "REPORTED_LOST")], True, "jpg"),
    ("card-expired", "孙测试", "420102", "19950101", "062",
     [("15300000006", "CTCC")],
     [("621661", 6, "15300000006", "EXPIRED")], True, "jpg"),
    ("card-restricted", "李测试", "610113", "19830930", "071",
     [("13100000007", "CUCC")],
     [("622588", 7, "13100000007", "RESTRICTED")], True, "jpg"),
    ("no-id-photo", "周测试", "210102", "19970420", "084",
     [("18900000008", "CTCC")],
     [("622202", 8, "18900000008", "ACTIVE")], False, "jpg"),
    ("liveness-fail", "吴测试", "320102", "19910909", "093",
     [("15800000009", "CMCC")],
     [("621700", 9, "15800000009", "ACTIVE")], True, "jpg"),
    ("minor", "郑小测", "370102", "20120520", "101",
     [("13600000010", "CMCC")],
     [("622202", 10, "13600000010", "ACTIVE")], True, "jpg"),
    ("minority-name", "阿依古丽·测试", "650102", "19930315", "112",
     [("15600000011", "CUCC")],
     [("621661", 11, "15600000011", "ACTIVE")], True, "png"),
    ("latin-name", "Anna Test", "440106", "19870707", "124",
     [("18100000012", "CTCC")],
     [("622588", 12, "18100000012", "ACTIVE")], True, "jpg"),
    ("id-check-x", "测试丙", "460105", "19800101", None,
     [("18900000013", "CTCC")],
     [("625807", 13, "18900000013", "ACTIVE")], True, "jpg"),
    ("satellite-segment", "测试丁", "150102", "19760606", "145",
     [("17400000014", "CTCC")], [], True, "jpg"),
    ("multi-contact", "测试戊", "540102", "19560808", "157",
     [("13300000015", "CTCC"), ("13000000015", "CUCC")],
     [("622202", 15, "13300000015", "ACTIVE"),
      ("628888", 15, "13000000015", "ACTIVE")], True, "jpg"),
]


def x_check_seq(region, birth):
    """First even (female) sequence number whose check character is X."""
    for n in range(0, 1000, 2):
        seq = "%03d" % n
        if id_check(region + birth + seq) == "X":
            return seq
    raise ValueError("no X check character")


def jpeg(label):
    """A tiny JPEG-shaped file: SOI, JFIF APP0, a comment naming the face,
    filler derived from the label, EOI. Not decodable, and needs not be."""
    comment = ("face:%s" % label).encode()
    filler = b"".join(hashlib.sha256(("%s/%d" % (label, i)).encode()).digest()
                      for i in range(8))
    body = comment + b"\n" + filler
    app0 = b"\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    com = b"\xff\xfe" + struct.pack(">H", len(body) + 2) + body
    return b"\xff\xd8" + app0 + com + b"\xff\xd9"


def png(label):
    """A real 1x1 grey PNG with a tEXt chunk naming the face."""
    def chunk(kind, data):
        return (struct.pack(">I", len(data)) + kind + data +
                struct.pack(">I", zlib.crc32(kind + data) & 0xffffffff))
    ihdr = struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0)
    text = b"Comment\x00face:" + label.encode()
    filler = hashlib.sha256(label.encode()).hexdigest().encode() * 4
    idat = zlib.compress(b"\x00\x80")
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) +
            chunk(b"tEXt", text) + chunk(b"tEXt", b"Filler\x00" + filler) +
            chunk(b"IDAT", idat) + chunk(b"IEND", b""))


def video(label, marker=b""):
    """An MP4-shaped blob (ftyp box) standing in for a liveness video."""
    body = ("liveness-video:%s" % label).encode() + marker
    ftyp = struct.pack(">I", 20) + b"ftypisom" + b"\x00\x00\x02\x00isom"
    mdat = struct.pack(">I", len(body) + 8) + b"mdat" + body
    return ftyp + mdat


def write(name, data):
    assert b"#LIVENESS:" not in data or name.endswith(("-spoof.jpg", "-fail.mp4"))
    with open(os.path.join(FACES, name), "wb") as f:
        f.write(data)
    return data


def main():
    os.makedirs(FACES, exist_ok=True)
    people = []
    for (label, name, region, birth, seq, mobiles, cards, photo,
         ext) in PEOPLE:
        if seq is None:
            seq = x_check_seq(region, birth)
        image = write("%s.%s" % (label, ext),
                      jpeg(label) if ext == "jpg" else png(label))
        person = {
            "label": label,
            "name": name,
            "idNumber": resident_id(region, birth, seq),
            "faceSha256": hashlib.sha256(image).hexdigest(),
            "hasIdPhoto": photo,
        }
        if mobiles:
            person["mobiles"] = [{"number": n, "operatorName": o}
                                 for n, o in mobiles]
        if cards:
            person["cards"] = [{"number": card(b, s), "reservedMobile": m,
                                "state": "CARD_STATE_" + st}
                               for b, s, m, st in cards]
        people.append(person)

    # The liveness-fail person's own face, presented by a spoof: same face
    # identity, liveness fails.
    own = open(os.path.join(FACES, "liveness-fail.jpg"), "rb").read()
    write("liveness-fail-spoof.jpg", own + b"#LIVENESS:FAIL")
    # A face that belongs to nobody in the book.
    write("stranger.jpg", jpeg("stranger"))
    write("liveness-video-ok.mp4", video("ok"))
    write("liveness-video-fail.mp4", video("fail", b"#LIVENESS:FAIL"))

    with open(os.path.join(HERE, "identities.json"), "w",
              encoding="utf-8") as f:
        json.dump({"people": people}, f, ensure_ascii=False, indent=2)
        f.write("\n")


if __name__ == "__main__":
    main()
