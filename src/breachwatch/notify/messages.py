"""What a notification says: the breach, what leaked for the number, what to do, how to unsubscribe;
rendered as a webhook JSON body or a plain-text email, and the texts of the verification SMS and the
confirmation email. A person's messages are written in their subscription's language (breachwatch.i18n);
webhooks and organisations' emails stay in English."""

from __future__ import annotations

import datetime as dt
from email import policy
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Any

from ..check.advice import advice_for, steps_for
from ..i18n import Translator, translator
from .webhooks import IDEMPOTENCY_HEADER

EMAIL_IDEMPOTENCY_HEADER = "Breachwatch-" + IDEMPOTENCY_HEADER
# Long link headers must stay whole: SMTP policy with RFC 5322's hard line limit, not the 78-column fold.
_POLICY = policy.SMTP.clone(max_line_length=998)


def webhook_body(key: str, payload: dict[str, Any], unsubscribe_url: str, created: float) -> dict[str, Any]:
    """The JSON document a webhook receiver gets."""
    kind = payload["kind"]
    return {
        "id": key,
        "type": "breach.match" if kind == "subscription" else "organisation.breach.match",
        "created": int(created),
        **{k: v for k, v in payload.items() if k != "kind"},
        "advice": advice_for(payload["data_classes"]),
        "unsubscribe_url": unsubscribe_url,
    }


def code_sms(code: str, minutes: int, language: str = "en") -> str:
    """The text of the SMS that carries a verification code."""
    t = translator(language)
    return t.ngettext("Your breachwatch code is %(code)s. It expires in %(num)s minute. Never share it.",
                      "Your breachwatch code is %(code)s. It expires in %(num)s minutes. Never share it.",
                      minutes, code=code)


def _classes(t: Translator, classes: list[str]) -> str:
    return t.gettext(", ").join(t.gettext(c) for c in classes)


def _steps(t: Translator, classes: list[str]) -> list[str]:
    lines: list[str] = []
    for step in steps_for(classes):
        lines.append(f"  - {t.gettext(step.text)}")
        lines += [f"      {t.gettext(how)}" for how in step.how]
    return lines


def breach_email(key: str, payload: dict[str, Any], unsubscribe_url: str, sender: str, to: str,
                 language: str = "en") -> EmailMessage:
    """The email a person (in `language`) or an organisation (in English) gets; carries the idempotency key in
    headers. A person's unsubscribe link opens a page that shows what is subscribed and stops it."""
    breach = payload["breach"]
    title = breach["title"] or breach["name"]
    lines: list[str]
    if payload["kind"] == "subscription":
        t = translator(language)
        values = {"number": payload["number"], "title": title}
        subject = t.gettext("Your number %(number)s appears in the breach %(title)s", **values)
        if breach.get("breach_date"):
            values["date"] = t.date(dt.date.fromisoformat(breach["breach_date"]))
            opening = t.gettext("Your phone number %(number)s appears in the breach \"%(title)s\" (breach date "
                                "%(date)s), newly loaded into breachwatch.", **values)
        else:
            opening = t.gettext("Your phone number %(number)s appears in the breach \"%(title)s\", newly loaded "
                                "into breachwatch.", **values)
        lines = [opening, "", t.gettext("What leaked with your number: %(classes)s.",
                                        classes=_classes(t, payload["data_classes"]))]
        lines += ["", t.gettext("What to do now:"), *_steps(t, payload["data_classes"]), ""]
        lines.append(t.gettext("See or stop these alerts: %(url)s", url=unsubscribe_url))
        lines.append(t.gettext("Reference: %(key)s", key=key))
        content_language = t.tag
    else:
        when = f" (breach date {breach['breach_date']})" if breach.get("breach_date") else ""
        subject = f"{payload['matched_numbers']} numbers of {payload['organisation']} appear in the breach {title}"
        lines = [f"{payload['matched_numbers']} of the numbers registered for {payload['organisation']} appear in "
                 f"the breach \"{title}\"{when}, newly loaded into breachwatch.", "",
                 "What leaked with them: " + ", ".join(payload["data_classes"]) + ".", "",
                 "Numbers (masked):"]
        lines += [f"  {n['number']}: {', '.join(n['data_classes'])}" for n in payload["numbers"]]
        if payload["matched_numbers"] > len(payload["numbers"]):
            lines.append(f"  ... and {payload['matched_numbers'] - len(payload['numbers'])} more")
        lines += ["", "What to do now:"]
        lines += [f"  - {step}" for step in advice_for(payload["data_classes"])]
        lines += ["", f"Stop these alerts: {unsubscribe_url}", f"Reference: {key}"]
        content_language = "en"
    message = EmailMessage(policy=_POLICY)
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = format_datetime(dt.datetime.now(dt.UTC))
    message["Message-ID"] = f"<{key}@breachwatch>"
    message[EMAIL_IDEMPOTENCY_HEADER] = key
    message["List-Unsubscribe"] = f"<{unsubscribe_url}>"
    message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message.set_content("\n".join(lines) + "\n")
    message["Content-Language"] = content_language  # after set_content, which drops Content-* headers
    return message


def confirmation_email(masked: str, confirm_url: str, unsubscribe_url: str, sender: str, to: str,
                       language: str = "en") -> EmailMessage:
    """The email that confirms an address for a subscription (in the subscription's language)."""
    t = translator(language)
    message = EmailMessage(policy=_POLICY)
    message["From"] = sender
    message["To"] = to
    message["Subject"] = t.gettext("Confirm your breachwatch alerts")
    message["Date"] = format_datetime(dt.datetime.now(dt.UTC))
    message.set_content("\n\n".join([
        t.gettext("Someone asked breachwatch to email this address when the number %(number)s appears in a newly "
                  "loaded breach.", number=masked),
        t.gettext("Confirm: %(url)s", url=confirm_url),
        t.gettext("The number must also be confirmed with the code sent to it by SMS. If this was not you, "
                  "ignore this email or stop it here: %(url)s", url=unsubscribe_url)]) + "\n")
    message["Content-Language"] = t.tag
    return message
