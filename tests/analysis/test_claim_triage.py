"""Claims judged before the dump arrives: against loaded breaches, published tables and claims triaged before, on
generated data with known truth, and the seeds' 2022 claim against the published Facebook 2021 table."""

from __future__ import annotations

import csv
import json
import random
from pathlib import Path
from typing import Any

import pytest

from breachwatch.analysis.claim_match import MATCH, NO_MATCH, RESEMBLES, TOO_FEW, compare_tables, spearman
from breachwatch.analysis.claim_triage import default_name, name_for, triage_claim
from breachwatch.analysis.references import add_reference, list_tables, published_tables, remove_table
from breachwatch.analysis.report import claim_chart, claim_html, triage_html
from breachwatch.analysis.triage import TriageOptions, triage
from breachwatch.catalog.claim_store import ClaimStore, ClaimTableError
from breachwatch.errors import InputError
from breachwatch.ingest import IngestOptions
from breachwatch.services import Services
from tests.support.cli import run_cli
from tests.support.paths import ROOT

CLAIM_2022 = ROOT / "examples" / "whatsapp-2022-claim.csv"
REFERENCES = ROOT / "src" / "breachwatch" / "analysis" / "references"
ARTIFACTS = ROOT / "test-artifacts"


def _derived(counts: dict[str, int], seed: int, scale: float = 7919.0, drop: int = 3) -> dict[str, int]:
    """A seller's table made from a breach: scaled, each count off by up to 3%, a few countries left out."""
    rng = random.Random(seed)
    regions = sorted(counts, key=lambda r: -counts[r])
    dropped = set(rng.sample(regions[3:], drop))
    return {r: round(counts[r] * scale * rng.uniform(0.97, 1.03)) for r in regions if r not in dropped}


@pytest.fixture
def loaded(services: Services, dumps: dict[str, Any]) -> dict[str, int]:
    services.ingest(dumps["csv"]["path"], IngestOptions(breach="Synth2022", title="Synthetic 2022"))
    return {c.region: c.numbers for c in services.catalog.countries("Synth2022")}


def test_claim_derived_from_a_loaded_breach_is_matched_to_it(services: Services, loaded: dict[str, int]) -> None:
    claim = _derived(loaded, seed=5)
    report = triage_claim(services, claim)
    best = report.check.best
    assert best is not None and (best.name, best.kind, best.level) == ("Synth2022", "breach", MATCH)
    assert best.common == len(claim) == len(loaded) - 3
    assert best.within_5 == best.common
    assert best.median_ratio == pytest.approx(7919, rel=0.03)
    assert best.rank_correlation is not None and best.rank_correlation > 0.95
    assert report.verdict == "claim-matches-known-breach"
    assert report.evidence[0] == (f"claim-matches-known-breach: {best.common} of {best.common} countries within 5% of "
                                  f"Synthetic 2022 (loaded breach), median ratio {best.median_ratio:.2f}")
    assert report.kept_as is None and ClaimStore(services.catalog).list() == []  # no name: not kept


def test_same_countries_with_shuffled_counts_are_not_matched(services: Services, loaded: dict[str, int]) -> None:
    claim = _derived(loaded, seed=5)
    regions = sorted(claim)
    counts = [claim[r] for r in regions]
    random.Random(11).shuffle(counts)
    shuffled = dict(zip(regions, counts, strict=True))
    report = triage_claim(services, shuffled)
    synth = next(m for m in report.check.matches if m.name == "Synth2022")
    assert synth.common == len(claim) and synth.level == NO_MATCH, synth
    assert synth.share_5 < 0.3 and synth.log_spread is not None and synth.log_spread > 0.5
    assert report.verdict == "no match"
    assert report.evidence[0].startswith("no match: no table agrees with the claim; closest is ")


def test_a_claim_equal_to_an_earlier_claim_is_recognised(services: Services) -> None:
    rng = random.Random(3)
    claim = {r: rng.randrange(10_000, 5_000_000) for r in ("BD", "PK", "NG", "KE", "GH", "PE", "CL", "UA", "PL")}
    first = triage_claim(services, claim, name="seller-a-2024")
    assert first.verdict == "no match" and first.kept_as == "seller-a-2024"
    again = triage_claim(services, claim, name="seller-a-2024")  # the same claim triaged again: not its own match
    assert again.verdict == "no match" and again.kept_as == "seller-a-2024"
    resale = triage_claim(services, claim, name="reseller-b")
    assert resale.verdict == "claim-matches-earlier-claim", resale.evidence
    best = resale.check.best
    assert best is not None and best.name == "seller-a-2024" and best.kind == "claim"
    assert (best.common, best.within_5, best.log_spread, best.median_ratio) == (9, 9, 0.0, 1.0)
    assert resale.evidence[0].startswith("claim-matches-earlier-claim: 9 of 9 countries within 5% of seller-a-2024, "
                                         "triaged ")
    other = dict(claim, BD=claim["BD"] * 3)  # another table under a taken name is kept under the next free one
    assert triage_claim(services, other, name="seller-a-2024").kept_as == "seller-a-2024-2"
    assert [t.name for t in ClaimStore(services.catalog).list()] == ["reseller-b", "seller-a-2024", "seller-a-2024-2"]
    with pytest.raises(ClaimTableError, match="not a table name"):
        triage_claim(services, claim, name="no spaces please")


def test_the_2022_whatsapp_claim_is_the_facebook_2021_table() -> None:
    report = triage_claim(None, CLAIM_2022)
    print("\n".join([report.verdict, *report.evidence]))  # the evidence, as a journalist would read it
    best = report.check.best
    assert best is not None and best.name == "facebook-2021" and best.kind == "published"
    assert report.verdict == "claim-matches-known-breach"
    assert report.evidence[0] == ("claim-matches-known-breach: 8 of 8 countries within 5% of Facebook 2021: 533M "
                                  "scraped profiles (published table), median ratio 0.99")
    assert (best.common, best.within_5, best.within_10) == (8, 8, 8)
    assert best.rank_correlation == 1.0 and best.log_spread is not None and best.log_spread < 0.03
    assert "claim-round-counts (weak): 8 of 8 claimed counts are round (3 or fewer significant digits)" in \
        report.evidence
    facebook_2019 = next(m for m in report.check.matches if m.name == "facebook-2019")
    assert (facebook_2019.common, facebook_2019.level) == (2, TOO_FEW)
    png = claim_chart(best)
    page = claim_html(report, png)
    assert png.startswith(b"\x89PNG") and "data:image/png;base64," in page and "<script" not in page
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "claim-2022-vs-facebook-2021.png").write_bytes(png)
    (ARTIFACTS / "claim-2022.html").write_text(page, encoding="utf-8")


def test_published_tables_cite_a_source_for_every_count() -> None:
    tables = {t.name: t for t in published_tables()}
    assert set(tables) == {"facebook-2019", "facebook-2021"}
    for path in sorted(REFERENCES.glob("*.csv")):
        lines = path.read_text(encoding="utf-8").splitlines()
        sources = {line.split(":")[0].split()[-1] for line in lines if line.startswith("# source ")}
        rows = list(csv.DictReader(line for line in lines if not line.startswith("#")))
        table = next(t for t in tables.values() if t.name == path.stem)
        assert len(rows) == len(table.counts) and all(int(r["count"]) > 0 for r in rows)
        for row in rows:
            cited = set(row["sources"].split())
            assert cited and cited <= sources, (path.name, row)
        assert all(s.url.startswith(("http://", "https://")) and s.publisher and s.date[:4].isdigit()
                   for s in table.sources)
    assert len(tables["facebook-2021"].counts) == 25
    assert tables["facebook-2021"].counts["EG"] == 44_823_547


def test_measures_on_known_tables() -> None:
    table = {"EG": 44_823_547, "IT": 35_677_323, "US": 32_315_282, "SA": 28_804_686, "FR": 19_848_559,
             "TR": 19_638_821}
    half = {r: c // 2 for r, c in table.items()}
    m = compare_tables(half, table, "t")
    assert (m.common, m.within_5, m.within_10, m.level) == (6, 6, 6, MATCH)
    assert m.median_ratio == pytest.approx(0.5, rel=1e-6) and m.log_spread == pytest.approx(0, abs=1e-6)
    assert m.rank_correlation == pytest.approx(1.0)
    wobbly = {r: round(c * (1.08 if i % 2 else 0.93)) for i, (r, c) in enumerate(table.items())}
    m = compare_tables(wobbly, table, "t")
    assert m.within_5 < 4 and m.level == RESEMBLES  # a copied table perturbed by 7-8%
    assert compare_tables({"EG": 1, "IT": 2, "US": 3}, table, "t").level == TOO_FEW
    assert compare_tables({"BR": 5}, table, "t").common == 0
    assert spearman([1, 2, 2, 3], [10, 20, 20, 30]) == pytest.approx(1.0)
    assert spearman([1, 2, 3, 4], [4, 3, 2, 1]) == pytest.approx(-1.0)
    assert spearman([1, 1, 1], [1, 2, 3]) is None


def test_with_a_dump_the_matches_sit_next_to_the_measured_counts(services: Services, loaded: dict[str, int],
                                                                 dumps: dict[str, Any]) -> None:
    claim = _derived(loaded, seed=8)
    report = triage(services, dumps["csv"]["path"], claim=claim, options=TriageOptions(claim_name="dump-claim"))
    assert report.verdict.startswith("recycled")  # the dump is the loaded breach itself
    assert report.claim_check is not None and report.claim_check.verdict == "claim-matches-known-breach"
    assert any(r.startswith("claim against known tables: claim-matches-known-breach: ") for r in report.reasons)
    assert {c.region for c in report.claim} == set(claim)
    data = json.loads(json.dumps(report.to_dict()))
    assert data["claim_check"]["matches"][0]["name"] == "Synth2022"
    assert [t.name for t in ClaimStore(services.catalog).list()] == ["dump-claim"]
    page = triage_html(report)
    assert "Against known tables" in page and page.count("data:image/png;base64,") == 2


def test_reference_tables_are_added_listed_and_removed(services: Services, tmp_path: Path) -> None:
    path = tmp_path / "press.csv"
    path.write_text("# a table printed by a newspaper\ncountry,count\nEG,100\nIT,80\nUS,70\nGB,20\nMY,20\n")
    added = add_reference(services.catalog, "press-2024", path, "Some Paper, 2024-05-01, https://example.org/a")
    assert added.kind == "reference" and added.counts["EG"] == 100
    assert [t.name for t in list_tables(services.catalog)] == ["facebook-2019", "facebook-2021", "press-2024"]
    report = triage_claim(services, {"EG": 1000, "IT": 800, "US": 700, "GB": 200, "MY": 200})
    assert report.verdict == "claim-matches-known-breach"
    assert report.check.best is not None and report.check.best.name == "press-2024"
    with pytest.raises(ClaimTableError, match="already stored"):
        add_reference(services.catalog, "press-2024", path, "again")
    with pytest.raises(ClaimTableError, match="needs its source"):
        add_reference(services.catalog, "press-2025", path, " ")
    with pytest.raises(ClaimTableError, match="shipped with breachwatch"):
        remove_table(services.catalog, "facebook-2021")
    assert remove_table(services.catalog, "PRESS-2024").name == "press-2024"
    with pytest.raises(ClaimTableError, match="no stored claim"):
        remove_table(services.catalog, "press-2024")
    with pytest.raises(InputError, match=r"row 3.*'XX' is not an ISO region"):
        path.write_text("# comment\ncountry,count\nXX,1\n")
        add_reference(services.catalog, "bad", path, "src")


def test_names_of_claims() -> None:
    assert name_for("/x/whatsapp-2022-claim.csv") == "whatsapp-2022-claim"
    assert name_for("Seller's list (Nov).csv") == "Seller-s-list-Nov"
    assert name_for("###.csv") == "claim"
    assert default_name({"EG": 1, "IT": 2}) == default_name({"IT": 2, "EG": 1}) != default_name({"EG": 2, "IT": 1})


def test_cli_claim_alone_and_claims_commands(home: Path, tmp_path: Path) -> None:
    out = run_cli("triage", "--claim", str(CLAIM_2022), "--png", str(tmp_path / "c.png"), "--html",
                  str(tmp_path / "c.html"), home=home, check=True)
    text = " ".join(out.stdout.split())
    assert "whatsapp-2022-claim.csv: verdict claim-matches-known-breach" in text
    assert ("claim-matches-known-breach: 8 of 8 countries within 5% of Facebook 2021: 533M scraped profiles "
            "(published table), median ratio 0.99") in text
    assert "kept in the catalog as whatsapp-2022-claim" in text
    assert (tmp_path / "c.png").read_bytes().startswith(b"\x89PNG")
    assert "Against known tables" in (tmp_path / "c.html").read_text()
    listed = json.loads(run_cli("claims", "list", "--json", home=home, check=True).stdout)
    assert [(t["name"], t["kind"]) for t in listed] == [("facebook-2019", "published"),
                                                        ("facebook-2021", "published"),
                                                        ("whatsapp-2022-claim", "claim")]
    assert all(s["url"].startswith("http") for s in listed[1]["sources"])
    resale = run_cli("triage", "--claim", str(CLAIM_2022), "--claim-name", "resold", "--json", home=home, check=True)
    assert json.loads(resale.stdout)["verdict"] == "claim-matches-earlier-claim"
    added = run_cli("claims", "add", "mine", str(CLAIM_2022), "--source", "me, 2024", home=home, check=True)
    assert "added mine: 8 countries" in added.stdout
    assert "removed resold (claim)" in run_cli("claims", "remove", "resold", home=home, check=True).stdout
    refused = run_cli("claims", "remove", "facebook-2021", home=home)
    assert refused.returncode == 1 and "cannot be removed" in refused.stderr
    nothing = run_cli("triage", home=home)
    assert nothing.returncode == 2 and "give a dump FILE, a --claim CLAIM.csv, or both" in nothing.stderr
