#!/usr/bin/env python3
"""Writes sns/logo.png: the LearnStake SNS and token logo (256x256 RGBA PNG).

Standard library only (zlib + struct), deterministic: running it again gives the
same bytes. Motif: an open book (learning) on an indigo disc, with a gold coin
above it (staking rewards).

    python3 sns/make_logo.py            # writes sns/logo.png next to this script
"""
import math
import os
import struct
import zlib

SIZE = 256
INDIGO_IN = (79, 70, 229)
INDIGO_OUT = (49, 46, 129)
WHITE = (248, 250, 252)
PAGE_SHADE = (203, 213, 225)
GOLD = (250, 204, 21)
GOLD_EDGE = (202, 138, 4)


def inside_disc(x, y, cx, cy, r):
    return (x - cx) ** 2 + (y - cy) ** 2 <= r * r


def pixel(x, y):
    cx = cy = SIZE / 2
    d = math.hypot(x + 0.5 - cx, y + 0.5 - cy)
    if d > 124:
        return (0, 0, 0, 0)  # transparent outside the disc
    t = min(d / 124, 1.0)
    bg = tuple(round(a + (b - a) * t) for a, b in zip(INDIGO_IN, INDIGO_OUT))
    alpha = 255 if d <= 123 else round(255 * (124 - d))

    # Gold coin (stake) above the book.
    if inside_disc(x, y, 128, 78, 30):
        edge = not inside_disc(x, y, 128, 78, 24)
        return (*(GOLD_EDGE if edge else GOLD), alpha)

    # Open book: two pages meeting at a spine at x = 128, tilted upwards.
    for side in (-1, 1):
        dx = (x - 128) * side  # distance from the spine, mirrored
        if 4 <= dx <= 80:
            top = 128 - dx * 0.18
            bottom = 190 - dx * 0.18
            if top <= y <= bottom:
                # Text lines on the pages.
                line = int(y - top) % 12 in (5, 6) and 14 <= dx <= 70 and y < bottom - 8
                return (*(PAGE_SHADE if line else WHITE), alpha)
    return (*bg, alpha)


def chunk(kind, data):
    body = kind + data
    return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)


def png():
    raw = bytearray()
    for y in range(SIZE):
        raw.append(0)  # filter type: None
        for x in range(SIZE):
            raw.extend(pixel(x, y))
    ihdr = struct.pack(">IIBBBBB", SIZE, SIZE, 8, 6, 0, 0, 0)  # 8-bit RGBA
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(bytes(raw), 9))
        + chunk(b"IEND", b"")
    )


if __name__ == "__main__":
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "logo.png")
    data = png()
    with open(out, "wb") as f:
        f.write(data)
    print(f"wrote {out}: {len(data)} bytes")
