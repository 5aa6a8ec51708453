"""Population per country, from the World Bank's SP.POP.TOTL series (CC BY 4.0), shipped as data/population.csv
(latest year per country; its header names the source, licence and date). Used for each country's share of
its population in a breach, and by claim triage (is a claimed table merely proportional to population?)."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache
from pathlib import Path

DATA = Path(__file__).parent / "data" / "population.csv"
SOURCE = "World Bank, SP.POP.TOTL"
SOURCE_URL = "https://data.worldbank.org/indicator/SP.POP.TOTL"
LICENCE = "CC BY 4.0"
LICENCE_URL = "https://creativecommons.org/licenses/by/4.0/"


@dataclass(frozen=True)
class Population:
    """One country's population and the year it was counted."""

    region: str
    year: int
    people: int


@cache
def populations() -> dict[str, Population]:
    """Every country in the data file, by ISO 3166-1 alpha-2 code."""
    with open(DATA, newline="", encoding="utf-8") as handle:
        rows = csv.DictReader(line for line in handle if not line.startswith("#"))
        return {r["iso2"]: Population(r["iso2"], int(r["year"]), int(r["population"])) for r in rows}


def population_of(region: str) -> Population | None:
    """A country's population (None when the World Bank lists none for it, e.g. Taiwan or "001")."""
    return populations().get(region.upper())


def population_share(region: str, numbers: int) -> float | None:
    """`numbers` as a fraction of the country's population, or None when its population is unknown."""
    found = population_of(region)
    return numbers / found.people if found is not None and found.people > 0 else None


def source_year() -> int:
    """The most common year of the figures (the year the source note names)."""
    years = [p.year for p in populations().values()]
    return max(set(years), key=years.count) if years else 0


def population_note() -> str:
    """Where the share-of-population figures come from, said wherever they are shown (in English)."""
    return (f"Share of population: a country's numbers in the breach divided by its population in {source_year()} "
            f"({SOURCE}, licence {LICENCE}).")


def population_cell(share: float | None) -> str:
    """A share of population as shown in tables ("-" when the population is unknown)."""
    return "-" if share is None else f"{share:.2%}"
