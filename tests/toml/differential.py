#!/usr/bin/env python3
"""tests/toml/differential.py: differential test of bin/toml-decode against
Python's tomllib (3.11+), on random documents built from TOML fragments.

Three generators: "tables" (headers, arrays of tables, dotted keys, inline
tables over a tiny key alphabet: exercises the table-definition rules),
"scalars" (numbers, date-times, booleans) and "strings" (all four kinds,
escapes, quotes, line continuations, control characters).  Both parsers must
agree on accepting each document and, when they accept, on its values.

Known, intended differences are not counted: integers beyond 64 bits
(tomllib has big integers; TOML 1.0 says int64), floats beyond binary64
(tomllib rounds 1e400 to inf, toml-decode refuses it) and leap seconds
(:60, which RFC 3339 and toml-test allow but Python's datetime cannot
hold).

  tests/toml/differential.py [-n N] [-s SEED] [--decoder PATH]
Prints one line per generator, "N docs, N accepted, N differences".
"""
import argparse
import datetime
import json
import math
import random
import subprocess
import sys
import tomllib

KEYS = ["a", "b", "c"]
SCALAR_FRAGS = ["0", "1", "9", "00", "12", "_", ".", "e", "E", "+", "-", "0x",
                "0o", "0b", "a", "F", ":", "T", "t", "Z", "z", " ", "inf",
                "nan", "1979", "-05", "-27", "07", ":32", ":00", "2000-02-29",
                "23:59:59", ".5", "-07:00", "true", "false", "#", ",", "x"]
STRING_FRAGS = ["a", " ", "\t", "\n", "\r\n", "\r", "\\", "\\ ", "\\\n", "\"",
                "\"\"", "\"\"\"", "'", "''", "'''", "\\u0041", "\\U0001F600",
                "\\uD800", "\\t", "\\\"", "\\e", "\u00e9", "\x7f", "\x01", "#",
                "=", "x"]


def gen_tables(r):
    def key(parts=3):
        return ".".join(r.choice(KEYS) for _ in range(r.randint(1, parts)))

    def val(d=0):
        x = r.random()
        if d < 2 and x < 0.15:
            return "{" + ", ".join("%s = %s" % (key(2), val(d + 1))
                                   for _ in range(r.randint(0, 2))) + "}"
        if d < 2 and x < 0.3:
            return "[" + ", ".join(val(d + 1)
                                   for _ in range(r.randint(0, 2))) + "]"
        return r.choice(["1", "'s'", "true", "1.5", "1979-05-27"])

    def line():
        x = r.random()
        if x < 0.25:
            return "[%s]" % key()
        if x < 0.4:
            return "[[%s]]" % key()
        return "%s = %s" % (key(), val())
    return "\n".join(line() for _ in range(r.randint(1, 6))) + "\n"


def gen_scalars(r):
    return "v = " + "".join(r.choice(SCALAR_FRAGS)
                            for _ in range(r.randint(1, 6))) + "\n"


def gen_strings(r):
    return "v = " + r.choice(["\"\"\"", "'''", "\"", "'"]) + "".join(
        r.choice(STRING_FRAGS) for _ in range(r.randint(1, 8))) + "\n"


def from_tomllib(v):
    """tomllib's values as (type, value) leaves."""
    if isinstance(v, dict):
        return {k: from_tomllib(x) for k, x in v.items()}
    if isinstance(v, list):
        return [from_tomllib(x) for x in v]
    if isinstance(v, bool):
        return ("bool", v)
    if isinstance(v, int):
        return ("integer", v)
    if isinstance(v, float):
        return ("float", v)
    if isinstance(v, str):
        return ("string", v)
    if isinstance(v, datetime.datetime):
        return ("datetime" if v.tzinfo else "datetime-local", v)
    if isinstance(v, datetime.date):
        return ("date-local", v)
    return ("time-local", v)


def from_tagged(j):
    """toml-decode's tagged JSON as (type, value) leaves."""
    if isinstance(j, dict) and set(j) == {"type", "value"} and \
            isinstance(j["value"], str):
        t, s = j["type"], j["value"]
        conv = {
            "bool": lambda s: s == "true",
            "integer": int,
            "float": float,
            "datetime": lambda s: datetime.datetime.fromisoformat(
                s.replace("Z", "+00:00")),
            "datetime-local": datetime.datetime.fromisoformat,
            "date-local": datetime.date.fromisoformat,
            "time-local": datetime.time.fromisoformat,
        }.get(t, lambda s: s)
        return (t, conv(s))
    if isinstance(j, dict):
        return {k: from_tagged(x) for k, x in j.items()}
    if isinstance(j, list):
        return [from_tagged(x) for x in j]
    return j


def same(a, b):
    if isinstance(a, tuple) and isinstance(b, tuple):
        if a[0] != b[0]:
            return False
        if a[0] == "float" and math.isnan(a[1]):
            return math.isnan(b[1])
        return a[1] == b[1]
    if isinstance(a, dict) and isinstance(b, dict):
        return set(a) == set(b) and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    return False


def check(decoder, doc):
    """None if both agree, else a description of the difference."""
    try:
        want, why = from_tomllib(tomllib.loads(doc)), None
    except tomllib.TOMLDecodeError as e:
        want, why = None, str(e)
    p = subprocess.run([decoder], input=doc.encode(), capture_output=True,
                       timeout=10)
    err = p.stderr.decode(errors="replace").strip()
    if (p.returncode == 0) != (want is not None):
        if "64 bits" in err or "float out of range" in err or \
                ":60" in doc:
            return None
        return "toml-decode: %s | tomllib: %s" % (
            "accepted" if p.returncode == 0 else err, why or "accepted")
    if want is not None:
        try:
            got = from_tagged(json.loads(p.stdout))
        except ValueError as e:
            return "bad output: %s" % e
        if not same(got, want):
            return "values differ: %s" % p.stdout.decode()[:300]
    return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("-n", type=int, default=3000, help="docs per generator")
    ap.add_argument("-s", type=int, default=1, help="random seed")
    ap.add_argument("--decoder", default="bin/toml-decode")
    a = ap.parse_args()
    failed = False
    for name, gen in (("tables", gen_tables), ("scalars", gen_scalars),
                      ("strings", gen_strings)):
        r = random.Random(a.s)
        diffs = accepted = 0
        for _ in range(a.n):
            doc = gen(r)
            d = check(a.decoder, doc)
            try:
                tomllib.loads(doc)
                accepted += 1
            except tomllib.TOMLDecodeError:
                pass
            if d:
                diffs += 1
                if diffs <= 5:
                    print("DIFF %s: %r\n  %s" % (name, doc, d))
        print("%s: %d docs, %d accepted, %d differences" %
              (name, a.n, accepted, diffs))
        failed = failed or diffs > 0
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
