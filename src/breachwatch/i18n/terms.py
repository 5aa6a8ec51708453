"""Words that reach people as data rather than as sentences, marked here so the catalogs hold them: the data
classes that can leak (models.DATA_CLASS_BITS and "Phone numbers") and breach verification statuses
(models.VERIFICATION_STATUSES). They are translated where they are shown, with `Translator.gettext`."""

from __future__ import annotations

from .translator import N_

DATA_CLASSES: tuple[str, ...] = (
    N_("Phone numbers"), N_("Names"), N_("Email addresses"), N_("Bios"), N_("Profile photos"),
    N_("Device information"), N_("Genders"), N_("Dates of birth"), N_("Geographic locations"), N_("Usernames"),
    N_("IP addresses"), N_("Passwords"), N_("Employers"), N_("Job titles"), N_("Social media profiles"),
    N_("Relationship statuses"), N_("Account identifiers"),
)

STATUSES: dict[str, str] = {
    "unverified": N_("Not verified"), "verified": N_("Verified"), "disputed": N_("Disputed"),
    "fabricated": N_("Fabricated"),
}
