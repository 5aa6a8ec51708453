"""Reference data for reports: which rollup region each ISO 3166 region belongs to (the groups news tables
use), and rough populations (millions, 2022, rounded) for testing whether claimed counts merely follow
population. Data only; no logic beyond lookups."""

from __future__ import annotations

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


#: Approximate population in millions (2022), for the population-proportionality test of a claim table.
POPULATION_M: dict[str, float] = {
    "CN": 1412, "IN": 1417, "US": 333, "ID": 275, "PK": 236, "NG": 218, "BR": 215, "BD": 171, "RU": 144,
    "MX": 128, "JP": 125, "ET": 123, "PH": 116, "EG": 111, "VN": 98, "CD": 99, "TR": 85, "IR": 89, "DE": 84,
    "TH": 72, "GB": 67, "FR": 68, "TZ": 65, "ZA": 60, "IT": 59, "KE": 54, "MM": 54, "CO": 52, "KR": 52,
    "UG": 47, "ES": 48, "SD": 47, "AR": 46, "DZ": 45, "IQ": 44, "AF": 41, "PL": 38, "CA": 39, "MA": 37,
    "SA": 36, "UA": 38, "UZ": 35, "PE": 34, "MY": 34, "GH": 33, "YE": 33, "NP": 30, "VE": 28, "CM": 28,
    "CI": 28, "AU": 26, "TW": 24, "LK": 22, "KZ": 20, "CL": 20, "RO": 19, "NL": 18, "SN": 17, "EC": 18,
    "KH": 17, "SE": 10.5, "GR": 10.4, "PT": 10.3, "BE": 11.7, "TN": 12.4, "BO": 12.2, "JO": 11.3, "AE": 9.4,
    "CH": 8.8, "AT": 9.0, "IL": 9.6, "HK": 7.3, "LY": 6.8, "PY": 6.8, "LB": 5.5, "SG": 5.6, "DK": 5.9,
    "NZ": 5.1, "IE": 5.1, "CR": 5.2, "OM": 4.6, "KW": 4.3, "UY": 3.4, "QA": 2.7, "BH": 1.5, "NO": 5.5,
    "FI": 5.6, "CZ": 10.5, "HU": 9.6, "RS": 6.7, "BG": 6.5, "HR": 3.9, "SK": 5.4, "SY": 22, "PS": 5.3,
}
