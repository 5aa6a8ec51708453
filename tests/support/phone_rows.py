"""Generated rows for the differential test: libphonenumber's example numbers of every region and type,
mutated, in every shape a dump holds, with junk and edge cases."""

from __future__ import annotations

import random

from breachwatch.phone import SUPPORTED_REGIONS
from breachwatch.phone.examples import example_numbers, format_national_text, national_prefix

_SCRIPTS = [str.maketrans("0123456789", digits) for digits in ("٠١٢٣٤٥٦٧٨٩", "۰۱۲۳۴۵۶۷۸۹", "０１２３４５６７８９")]
JUNK = ("", "  ", "N/A", "unknown", "12345", "+999 1234 5678", "+1 555 0100", "+4412345678901234567", "0",
        "+", "++201001234567", "tel:201001234567", "TEL:+201001234567", "abc123", "+20 100 123 4567 ext. 99",
        "201001234567#12", "x", "12", "123", "+12", "+123", "0000", "00", "001", "+0201001234567", "\u3000",
        "+20\u00a0100 1234567", "(+44) 20 7946 0958", "1-800-FLOWERS", "+1 (800) 555-0199 x12", "null",
        "201001234567:3@s.whatsapp.net", "@", ":", "+44 (0) 20 7946 0958", "tel:+1-800-555-0100;ext=1",
        "06 1234 5678", "+39 06 1234 5678", "+1 876 210 1234", "201001234567@", "2010012345@s.whatsapp.net.")
REGIONS = sorted(SUPPORTED_REGIONS)


def mutate(rng: random.Random, digits: str) -> str:
    """The digits unchanged, or with one digit changed, added or dropped, or all random."""
    roll = rng.random()
    out = list(digits)
    if roll < 0.3:
        return digits
    if roll < 0.5 and out:
        out[rng.randrange(len(out))] = str(rng.randrange(10))
    elif roll < 0.65:
        out.append(str(rng.randrange(10)))
    elif roll < 0.8 and len(out) > 1:
        out.pop(rng.randrange(len(out)))
    else:
        out = [str(rng.randrange(10)) for _ in out]
    return "".join(out)


def _shape(rng: random.Random, shape: int, region: str, cc: int, nat: str) -> str:
    shapes = {
        0: f"+{cc}{nat}", 1: f"+{cc} {nat[:3]} {nat[3:]}", 2: f"00{cc}{nat}", 3: f"{cc}{nat}",
        4: f"{cc}{nat}@s.whatsapp.net", 5: f"tel:+{cc}-{nat}", 11: f"(+{cc}) {nat}",
        12: f"  {cc}-{nat[:2]}.{nat[2:]} ",
    }
    if shape in shapes:
        return shapes[shape]
    if shape == 6:
        return national_prefix(region if region != "001" else "US") + nat
    if shape == 7:
        try:
            return format_national_text(region, cc, nat)
        except Exception:
            return nat
    if shape == 8:
        return f"+{cc}{nat}".translate(rng.choice(_SCRIPTS))
    if shape == 9:
        return f"{cc}{nat}".translate(rng.choice(_SCRIPTS))
    if shape == 10:
        return rng.choice(JUNK)
    return "".join(rng.choice("0123456789+ -()") for _ in range(rng.randrange(0, 20)))


def rows(n: int, seed: int) -> list[tuple[str, str | None]]:
    """n (text, region hint) rows over every region libphonenumber knows."""
    rng = random.Random(seed)
    examples = example_numbers()
    out: list[tuple[str, str | None]] = []
    for _ in range(n):
        region, cc, nat = rng.choice(examples)
        nat = mutate(rng, nat)
        shape = rng.randrange(14)
        hint: str | None = None
        if rng.random() < 0.5:
            own = region != "001" and rng.random() < 0.8
            hint = region if own else rng.choice([*REGIONS, "xx", " eg ", "", "zz"])
        if shape in (6, 7) and region != "001" and (hint is None or rng.random() < 0.9):
            hint = region
        out.append((_shape(rng, shape, region, cc, nat), hint))
    return out
