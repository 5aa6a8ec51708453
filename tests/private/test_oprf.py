"""RFC 9497 OPRF (mode 0, ristretto255-SHA512): every test vector of the CFRG reference, exact bytes."""

from __future__ import annotations

import json
from typing import Any

import pytest

from breachwatch.private import oprf
from tests.support.paths import DATA

VECTORS = json.loads((DATA / "rfc9497-oprf-vectors.json").read_text())
SUITE = next(s for s in VECTORS if s["identifier"] == "ristretto255-SHA512" and s["mode"] == 0)
CASES: list[dict[str, Any]] = SUITE["vectors"]


def _split(field: str) -> list[bytes]:
    return [bytes.fromhex(part) for part in field.split(",")]


def test_suite_parameters_match_the_vector_file() -> None:
    assert bytes.fromhex(SUITE["groupDST"]) == oprf.HASH_TO_GROUP_DST
    assert len(CASES) >= 2


def test_derive_key_pair_matches_vector() -> None:
    pair = oprf.derive_key_pair(bytes.fromhex(SUITE["seed"]), bytes.fromhex(SUITE["keyInfo"]))
    assert pair.sk.hex() == SUITE["skSm"]


@pytest.mark.parametrize("case", CASES, ids=[f"vector{i}" for i in range(len(CASES))])
def test_vector_blind_evaluate_finalize(case: dict[str, Any]) -> None:
    sk = bytes.fromhex(SUITE["skSm"])
    inputs, blinds = _split(case["Input"]), _split(case["Blind"])
    blinded_want, evaluated_want = _split(case["BlindedElement"]), _split(case["EvaluationElement"])
    outputs = _split(case["Output"])
    assert len(inputs) == case["Batch"]
    for i, data in enumerate(inputs):
        scalar, blinded = oprf.blind(data, blinds[i])
        assert blinded == blinded_want[i]
        evaluated = oprf.blind_evaluate(sk, blinded)
        assert evaluated == evaluated_want[i]
        assert oprf.finalize(data, scalar, evaluated) == outputs[i]
        assert oprf.evaluate(sk, data) == outputs[i]
        assert oprf.evaluate_many(sk, [data]) == [outputs[i]]


def test_random_blinds_give_the_same_output() -> None:
    pair = oprf.derive_key_pair(bytes(range(32)), b"info")
    outputs = set()
    for _ in range(3):
        scalar, blinded = oprf.blind(b"+201001234567")
        outputs.add(oprf.finalize(b"+201001234567", scalar, oprf.blind_evaluate(pair.sk, blinded)))
    assert outputs == {oprf.evaluate(pair.sk, b"+201001234567")}


@pytest.mark.parametrize("bad", [b"", b"\x01" * 31, b"\x00" * 32, b"\xff" * 32, b"\x01" + b"\x00" * 31,
                                 b"\x00" * 33])
def test_malformed_elements_are_refused(bad: bytes) -> None:
    with pytest.raises(oprf.InvalidElementError):
        oprf.blind_evaluate(oprf.derive_key_pair(bytes(32), b"").sk, bad)


def test_top_bit_set_is_non_canonical() -> None:
    element = oprf.blind(b"x")[1]
    flipped = element[:31] + bytes([element[31] | 0x80])
    with pytest.raises(oprf.InvalidElementError):
        oprf.validate_element(flipped)
    assert oprf.validate_element(element) == element


def test_expand_message_xmd_long_output_is_stable_prefix_free() -> None:
    long = oprf.expand_message_xmd(b"abc", b"QUUX-V01-CS02-with-expander-SHA512-256", 0x80)
    assert long.hex().startswith("7f1dddd13c08b543f2e2037b14cefb25")
    assert len(long) == 0x80


def test_evaluate_many_agrees_with_evaluate() -> None:
    """The build's batched Evaluate gives, in order, what the RFC Evaluate gives each input."""
    pair = oprf.derive_key_pair(bytes(range(32)), b"batch")
    inputs = [b"", b"+201001234567", b"x" * 300, *(f"+2010{i:07d}".encode() for i in range(50))]
    assert oprf.evaluate_many(pair.sk, inputs) == [oprf.evaluate(pair.sk, data) for data in inputs]
    assert oprf.evaluate_many(pair.sk, []) == []
