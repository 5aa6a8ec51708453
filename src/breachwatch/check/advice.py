"""What to do now: steps that follow from what leaked with a number. Each step has a stable id (the page keeps a
person's ticks by it, in their browser only), a sentence saying what to do and why, and platform-specific
instructions. Texts are English message ids, translated where they are shown (breachwatch.i18n)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

from ..i18n import N_, Translator, translator
from ..models import BreachHit


@dataclass(frozen=True)
class Step:
    """One thing to do: an id, the sentence, and how to do it on the platforms people use."""

    id: str
    text: str
    how: tuple[str, ...] = ()
    #: The data class that calls for it ("" for steps everyone whose number leaked should take).
    because: str = ""


_ALWAYS = (
    Step("two-step-pin", N_(
        "Turn on two-step verification (a PIN) in WhatsApp, Signal, Telegram and your other messaging apps, "
        "so a stolen SMS code is not enough to take over your account."), (
        N_("WhatsApp: Settings > Account > Two-step verification > Turn on. Choose a 6-digit PIN you use "
           "nowhere else."),
        N_("Signal: Settings > Account > Registration Lock. Telegram: Settings > Privacy and Security > "
           "Two-Step Verification."))),
    Step("never-share-codes", N_(
        "Never share a verification code sent to you by SMS or call, whoever asks for it: no bank, platform "
        "or friend needs it.")),
    Step("scam-texts-and-calls", N_(
        "Expect scam texts (smishing) and calls (vishing): do not follow links in unexpected messages, and "
        "call back on a number you already know before acting on a request for money or data."), (
        N_("A scam text is urgent, has a link, or asks for a code, a payment or your details, often in the "
           "name of a bank, a delivery company or an authority."),
        N_("A scam call comes from someone who says they are your bank, your operator or the police and asks "
           "for a code, a password or money. Hang up and call the official number yourself."))),
    Step("sim-swap-pin", N_(
        "Ask your mobile operator for a SIM-swap / port-out PIN, so nobody can move your number to their SIM."), (
        N_("Call your operator or visit one of its shops with your ID, and ask for a PIN or password that is "
           "needed before your SIM is replaced or your number is moved."),)),
    Step("linked-devices", N_(
        "Check which computers and browsers are linked to your messaging accounts, and log out any you do "
        "not know."), (
        N_("WhatsApp: Settings > Linked devices (on Android: the ⋮ menu > Linked devices). Tap a device you do "
           "not recognise, then Log out."),)),
)

_BY_CLASS = (
    Step("names", N_("Your name leaked with your number: scammers can greet you by name. Treat a message that "
                     "knows your name as no proof that it is genuine."), because="Names"),
    Step("email-addresses", N_("Your email address leaked too: watch for phishing emails that mention this "
                               "breach, and change the password of that mailbox if you reuse it anywhere."),
         because="Email addresses"),
    Step("passwords", N_("A password leaked: change it everywhere you used it and use a password manager."),
         because="Passwords"),
    Step("profile-photo", N_("Your profile photo leaked: set who can see your photo to 'My contacts' and watch "
                             "for accounts impersonating you with it."),
         (N_("WhatsApp: Settings > Privacy > Profile photo > My contacts."),), because="Profile photos"),
    Step("about", N_("Your 'about' text leaked: set who can see it to 'My contacts' and remove personal details "
                     "from it."),
         (N_("WhatsApp: Settings > Privacy > About > My contacts."),), because="Bios"),
    Step("device-updates", N_("Your phone model or system version leaked: install system updates, and check "
                              "'Linked devices' in your messaging apps for devices you do not know."),
         because="Device information"),
    Step("locations", N_("Location details leaked: be wary of messages or calls that use them to seem local or "
                         "official."), because="Geographic locations"),
    Step("birth-date", N_("Your date of birth leaked: it is often used to verify identity, so expect "
                          "impersonation attempts with banks and operators."), because="Dates of birth"),
    Step("ip-addresses", N_("An IP address leaked: it can reveal your approximate location; nothing to change "
                            "unless it is a fixed address you still use."), because="IP addresses"),
    Step("usernames", N_("A username leaked: check that account for unknown logins and enable two-step "
                         "verification on it."), because="Usernames"),
)

_BACKUPS = Step("encrypted-backups", N_(
    "Protect your chat backups: turn on end-to-end encrypted backups in WhatsApp (or your app's equivalent), "
    "so a copy in the cloud is no weaker than your phone."), (
    N_("WhatsApp: Settings > Chats > Chat backup > End-to-end encrypted backup > Turn on."),))

#: Every step, in the order shown (for catalogs and tests).
ALL_STEPS: tuple[Step, ...] = (*_ALWAYS, *_BY_CLASS, _BACKUPS)


def steps_for(data_classes: Iterable[str]) -> list[Step]:
    """The checklist for someone whose number leaked with these data classes: the steps everyone needs, those
    that follow from what leaked, then backups."""
    leaked = set(data_classes)
    return [*_ALWAYS, *(s for s in _BY_CLASS if s.because in leaked), _BACKUPS]


def advice_for(data_classes: Iterable[str], t: Translator | None = None) -> list[str]:
    """Plain-language steps (one sentence each) for someone whose number leaked with these data classes, in
    English unless a translator is given."""
    t = t or translator()
    return [t.gettext(step.text) for step in steps_for(data_classes)]


@lru_cache(maxsize=4096)
def english_advice(leaked: frozenset[str]) -> tuple[str, ...]:
    """`advice_for` in English, remembered per set of data classes (there are few)."""
    return tuple(advice_for(leaked))


def advice_for_hits(hits: Iterable[BreachHit]) -> list[str]:
    """The English advice for the data classes that leaked in these breaches (only the ones shown: advice
    must not hint at a hidden breach)."""
    return list(english_advice(frozenset(cls for hit in hits for cls in hit.data_classes)))
