"""Consistency checks of a data directory: every catalogued breach has an intact segment made with the current
key, nothing is left over from an interrupted ingest, and counts agree."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..catalog import Catalog
from ..datahome import DataHome
from ..errors import IndexCorruptError
from ..index import NumberHasher, SegmentReader


@dataclass
class DoctorReport:
    """What `doctor` found: problems (data at risk), leftovers (safe to remove) and what was checked."""

    breaches_checked: int = 0
    numbers_checked: int = 0
    problems: list[str] = field(default_factory=list)
    leftovers: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)

    @property
    def healthy(self) -> bool:
        """True when no problem was found (leftovers are not problems)."""
        return not self.problems


def examine(catalog: Catalog, hasher: NumberHasher, home: DataHome, repair: bool = False) -> DoctorReport:
    """Check catalog and segments against each other; with repair, remove leftovers of interrupted ingests."""
    report = DoctorReport()
    breaches = catalog.list_breaches()
    for breach in breaches:
        report.breaches_checked += 1
        path = home.segments / breach.segment_file
        try:
            segment = SegmentReader(path, hasher.fingerprint, breach.segment_checksum, verify=True)
        except IndexCorruptError as exc:
            report.problems.append(f"breach {breach.name}: {exc}")
            continue
        try:
            report.numbers_checked += segment.count
            if segment.count != breach.pwn_count:
                report.problems.append(f"breach {breach.name}: catalog says {breach.pwn_count} numbers, "
                                       f"segment holds {segment.count}")
            country_total = sum(c.numbers for c in catalog.countries(breach.name))
            if country_total != breach.pwn_count:
                report.problems.append(f"breach {breach.name}: per-country counts add up to {country_total}, "
                                       f"not {breach.pwn_count}")
        finally:
            segment.close()
    referenced = {b.segment_file for b in breaches}
    if repair:
        with home.ingest_lock():
            report.removed = [str(p) for p in home.remove_orphans(referenced)]
    else:
        report.leftovers = [str(p) for p in home.orphans(referenced)]
    return report
