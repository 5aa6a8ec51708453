"""What to do now: advice that follows from what leaked with a number."""

from __future__ import annotations

from collections.abc import Iterable

_ALWAYS = (
    "Turn on two-step verification (a PIN) in WhatsApp, Signal, Telegram and your other messaging apps, "
    "so a stolen SMS code is not enough to take over your account.",
    "Never share a verification code sent to you by SMS or call, whoever asks for it: no bank, platform "
    "or friend needs it.",
    "Expect scam texts (smishing) and calls (vishing): do not follow links in unexpected messages, and "
    "call back on a number you already know before acting on a request for money or data.",
    "Ask your mobile operator for a SIM-swap / port-out PIN, so nobody can move your number to their SIM.",
)

_BY_CLASS: tuple[tuple[str, str], ...] = (
    ("Names", "Your name leaked with your number: scammers can greet you by name. Treat a message that "
              "knows your name as no proof that it is genuine."),
    ("Email addresses", "Your email address leaked too: watch for phishing emails that mention this "
                        "breach, and change the password of that mailbox if you reuse it anywhere."),
    ("Passwords", "A password leaked: change it everywhere you used it and use a password manager."),
    ("Profile photos", "Your profile photo leaked: set who can see your photo to 'My contacts' and watch for "
                       "accounts impersonating you with it."),
    ("Bios", "Your 'about' text leaked: set who can see it to 'My contacts' and remove personal details "
             "from it."),
    ("Device information", "Your phone model or system version leaked: install system updates, and check "
                           "'Linked devices' in your messaging apps for devices you do not know."),
    ("Geographic locations", "Location details leaked: be wary of messages or calls that use them to seem "
                             "local or official."),
    ("Dates of birth", "Your date of birth leaked: it is often used to verify identity, so expect "
                       "impersonation attempts with banks and operators."),
    ("IP addresses", "An IP address leaked: it can reveal your approximate location; nothing to change "
                     "unless it is a fixed address you still use."),
    ("Usernames", "A username leaked: check that account for unknown logins and enable two-step "
                  "verification on it."),
)

_BACKUPS = ("Protect your chat backups: turn on end-to-end encrypted backups in WhatsApp (or your app's "
            "equivalent), so a copy in the cloud is no weaker than your phone.")


def advice_for(data_classes: Iterable[str]) -> list[str]:
    """Plain-language steps for someone whose number leaked with these data classes."""
    leaked = set(data_classes)
    steps = list(_ALWAYS)
    steps += [text for cls, text in _BY_CLASS if cls in leaked]
    steps.append(_BACKUPS)
    return steps
