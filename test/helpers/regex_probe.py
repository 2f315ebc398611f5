"""Reads {"rules": [{"id", "pattern", "minLength"?, "maxLength"?, "calendar"?}], "count", "seed"} as
JSON on stdin and answers, for each rule, whether Python's `re` compiles its pattern and a list of
values with Python's verdict: `count` values generated from the pattern's parse tree (sre_parse,
not JavaScript's reading of it) and `count` mutations of them. The verdict is re.fullmatch, which
is what an ECMAScript `^...$` pattern means (Python's `$` alone would also match before a final
newline), plus the lengths in code points and, with `calendar`, a real calendar day.
Used by test/contract/published-patterns.test.ts."""

import datetime
import json
import random
import re
import sys

try:
    import re._constants as sre
    import re._parser as sre_parse
except ImportError:  # Python < 3.11
    import sre_constants as sre
    import sre_parse

# Characters to draw from for negated classes and mutations: ASCII, controls, Latin-1, the
# invisible ones, other scripts, astral code points.
POOL = (
    [chr(c) for c in range(0, 0x80)]
    + [chr(c) for c in range(0x80, 0x100)]
    + [chr(c) for c in (0x200B, 0x200D, 0x200E, 0x2028, 0x2060, 0x2066, 0xFEFF, 0xFFF9, 0x3000)]
    + [chr(c) for c in (0x0600, 0x061C, 0x180E, 0x1680, 0x0416, 0x05D0, 0x4E2D, 0xAC00, 0xFFFD)]
    + [chr(c) for c in (0x1F600, 0x1F44D, 0x10348, 0xE0041, 0x110BD, 0x1D173)]
)


def contains(items, ch):
    code = ord(ch)
    hit = False
    for op, arg in items:
        if op is sre.NEGATE:
            continue
        if op is sre.LITERAL and code == arg:
            hit = True
        elif op is sre.RANGE and arg[0] <= code <= arg[1]:
            hit = True
        elif op is sre.CATEGORY:
            hit = hit or bool(re.match({sre.CATEGORY_DIGIT: r"\d", sre.CATEGORY_SPACE: r"\s", sre.CATEGORY_WORD: r"\w"}.get(arg, "(?!)"), ch))
    negated = any(op is sre.NEGATE for op, _ in items)
    return hit != negated


def draw_in(rng, items):
    positive = [(op, arg) for op, arg in items if op in (sre.LITERAL, sre.RANGE)]
    if not any(op is sre.NEGATE for op, _ in items) and positive and rng.random() < 0.9:
        op, arg = rng.choice(positive)
        return chr(arg) if op is sre.LITERAL else chr(rng.randint(arg[0], arg[1]))
    for _ in range(10000):
        ch = rng.choice(POOL)
        if contains(items, ch):
            return ch
    raise ValueError("no character of the pool fits a class")


def generate(rng, tree):
    out = []
    for op, arg in tree:
        if op is sre.LITERAL:
            out.append(chr(arg))
        elif op is sre.NOT_LITERAL:
            out.append(draw_in(rng, [(sre.NEGATE, None), (sre.LITERAL, arg)]))
        elif op is sre.ANY:
            out.append(rng.choice(POOL))
        elif op is sre.IN:
            out.append(draw_in(rng, arg))
        elif op in (sre.MAX_REPEAT, sre.MIN_REPEAT):
            low, high, sub = arg
            high = min(high, low + 6)
            out.extend(generate(rng, sub) for _ in range(rng.randint(low, high)))
        elif op is sre.SUBPATTERN:
            out.append(generate(rng, arg[-1]))
        elif op is sre.BRANCH:
            out.append(generate(rng, rng.choice(arg[1])))
        elif op is sre.AT:
            pass
        else:
            raise ValueError(f"unsupported regex construct {op}")
    return "".join(out)


def mutate(rng, value):
    chars = list(value)
    kind = rng.randrange(4)
    at = rng.randint(0, len(chars))
    if kind == 0:
        chars.insert(at, rng.choice(POOL))
    elif kind == 1 and chars:
        chars[min(at, len(chars) - 1)] = rng.choice(POOL)
    elif kind == 2 and chars:
        del chars[min(at, len(chars) - 1)]
    else:
        chars.append(rng.choice(["\n", " ", "\t", "\x00", "\u200b", "x"]))
    return "".join(chars)


def real_day(value):
    try:
        datetime.date(int(value[0:4]), int(value[5:7]), int(value[8:10]))
        return True
    except ValueError:
        return False


def verdict(rule, compiled, value):
    if compiled.fullmatch(value) is None:
        return False
    if len(value) < rule.get("minLength", 0) or len(value) > rule.get("maxLength", 10**9):
        return False
    return not rule.get("calendar") or real_day(value)


def main():
    request = json.load(sys.stdin)
    rng = random.Random(request["seed"])
    answers = []
    for rule in request["rules"]:
        try:
            compiled = re.compile(rule["pattern"])
        except re.error as error:
            answers.append({"id": rule["id"], "compiled": False, "error": str(error), "values": []})
            continue
        tree = sre_parse.parse(rule["pattern"])
        values = []
        for _ in range(request["count"] * 20):
            if len(values) >= request["count"]:
                break
            value = generate(rng, tree)
            if verdict(rule, compiled, value):
                values.append(value)
        mutated = [mutate(rng, rng.choice(values)) for _ in range(request["count"])] if values else []
        if rule.get("calendar"):
            # Days the pattern allows and the calendar does not.
            mutated += [v[:5] + day + v[10:] for v, day in zip(values, ("02-30", "04-31", "02-31"))]
        answers.append(
            {
                "id": rule["id"],
                "compiled": True,
                "values": [{"value": v, "accepted": verdict(rule, compiled, v)} for v in values + mutated],
            }
        )
    json.dump(answers, sys.stdout)


main()
