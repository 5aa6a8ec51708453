"""Reference data for reports: which rollup region each ISO 3166 region belongs to (the groups news tables
use), and populations (millions, from the World Bank data in population.py) for testing whether claimed counts
merely follow population. Data only; no logic beyond lookups."""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from .population import population_of, populations

ROLLUPS: tuple[str, ...] = ("North America", "Europe", "Africa", "Asia", "Latin America", "Oceania",
                            "Middle East", "Other")

_MEMBERS: dict[str, str] = {
    "North America": "US CA BM GL PM",
    "Europe": ("AD AL AT AX BA BE BG BY CH CY CZ DE DK EE ES FI FO FR GB GG GI GR HR HU IE IM IS IT JE LI "
               "LT LU LV MC MD ME MK MT NL NO PL PT RO RS RU SE SI SJ SK SM UA VA XK"),
    "Africa": ("AO BF BI BJ BW CD CF CG CI CM CV DJ DZ EG EH ER ET GA GH GM GN GQ GW KE KM LR LS LY MA MG "
               "ML MR MU MW MZ NA NE NG RE RW SC SD SH SL SN SO SS ST SZ TD TG TN TZ UG YT ZA ZM ZW TA AC IO"),
    "Asia": ("AF AM AZ BD BN BT CN GE HK ID IN JP KG KH KP KR KZ LA LK MM MN MO MV MY NP PH PK SG TH TJ TL "
             "TM TW UZ VN CC CX"),
    "Latin America": ("AG AI AR AW BB BL BO BQ BR BS BZ CL CO CR CU CW DM DO EC FK GD GF GP GT GY HN HT JM KN "
                      "KY LC MF MQ MS MX NI PA PE PR PY SR SV SX TC TT UY VC VE VG VI"),
    "Oceania": ("AS AU CK FJ FM GU KI MH MP NC NF NR NU NZ PF PG PW SB TK TO TV VU WF WS"),
    "Middle East": "AE BH IL IQ IR JO KW LB OM PS QA SA SY TR YE",
}

#: ISO region -> rollup name ("Other" for regions not listed, e.g. "001" non-geographic numbers).
REGION_ROLLUP: dict[str, str] = {code: rollup for rollup, codes in _MEMBERS.items() for code in codes.split()}


def rollup_of(region: str) -> str:
    """The rollup region (North America, Europe, ...) of an ISO region code; 'Other' when unknown."""
    return REGION_ROLLUP.get(region.upper(), "Other")


class _Millions(Mapping[str, float]):
    """Population in millions by ISO region, read from the shipped World Bank data (analysis/population.py)."""

    def __getitem__(self, region: str) -> float:
        found = population_of(region)
        if found is None:
            raise KeyError(region)
        return found.people / 1e6

    def __iter__(self) -> Iterator[str]:
        return iter(populations())

    def __len__(self) -> int:
        return len(populations())


#: Population in millions (World Bank, latest year), for the population-proportionality test of a claim table.
POPULATION_M: Mapping[str, float] = _Millions()
