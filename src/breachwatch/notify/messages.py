"""What a notification says: the breach, what leaked for the number, what to do, how to unsubscribe;
rendered as a webhook JSON body or a plain-text email."""

from __future__ import annotations

import datetime as dt
from email import policy
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Any

from ..check.advice import advice_for
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


def breach_email(key: str, payload: dict[str, Any], unsubscribe_url: str, sender: str, to: str) -> EmailMessage:
    """The email a person or an organisation gets; carries the idempotency key in headers."""
    breach = payload["breach"]
    title = breach["title"] or breach["name"]
    when = f" (breach date {breach['breach_date']})" if breach.get("breach_date") else ""
    lines: list[str]
    if payload["kind"] == "subscription":
        subject = f"Your number {payload['number']} appears in the breach {title}"
        lines = [f"Your phone number {payload['number']} appears in the breach \"{title}\"{when}, newly loaded "
                 "into breachwatch.", "",
                 "What leaked with your number: " + ", ".join(payload["data_classes"]) + "."]
    else:
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
    return message


def confirmation_email(masked: str, confirm_url: str, unsubscribe_url: str, sender: str, to: str) -> EmailMessage:
    """The email that confirms an address for a subscription."""
    message = EmailMessage(policy=_POLICY)
    message["From"] = sender
    message["To"] = to
    message["Subject"] = "Confirm your breachwatch alerts"
    message["Date"] = format_datetime(dt.datetime.now(dt.UTC))
    message.set_content(
        f"Someone asked breachwatch to email this address when the number {masked} appears in a newly loaded "
        f"breach.\n\nConfirm: {confirm_url}\n\nThe number must also be confirmed with the code sent to it by "
        f"SMS. If this was not you, ignore this email or stop it here: {unsubscribe_url}\n")
    return message
