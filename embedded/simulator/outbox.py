"""What the simulated org "sends": email and SMS/voice codes, magic links, Okta Verify pushes and
Okta Verify activations (the QR code / link a device would read). Nothing leaves the machine;
people read them at /outbox, tests at /outbox.json."""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Message:
    to: str
    kind: str  # email | sms | voice | push | activation
    code: str | None = None
    link: str | None = None
    subject: str = ""
    sent_at: float = field(default_factory=time.time)
    id: str = field(default_factory=lambda: secrets.token_hex(8))
    # pushes only
    correct_answer: str | None = None
    choices: list[str] = field(default_factory=list)
    status: str = "sent"  # pushes: pending | approved | denied; activations: pending | activated
    # Okta Verify activations only: the channel it went by, the TOTP secret the device receives
    # (so codes can be computed later) and the name the device reports
    channel: str | None = None
    secret: str | None = None
    device_name: str | None = None
    account: str | None = None

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "to": self.to,
            "kind": self.kind,
            "code": self.code,
            "link": self.link,
            "subject": self.subject,
            "sent_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self.sent_at)),
        }
        if self.kind == "push":
            out.update(id=self.id, correct_answer=self.correct_answer, choices=self.choices, status=self.status)
        if self.kind == "activation":
            out.update(
                id=self.id,
                status=self.status,
                channel=self.channel,
                account=self.account,
                secret=self.secret,
                device_name=self.device_name,
            )
        return out


class Outbox(list):
    """The list of sent messages, oldest first."""

    def send(self, to: str, kind: str, **kw) -> Message:
        m = Message(to=to, kind=kind, **kw)
        self.append(m)
        return m

    def push(self, to: str, number_challenge: bool, subject: str = "Did you just try to sign in?") -> Message:
        answer = choices = None
        if number_challenge:
            answer = str(secrets.randbelow(90) + 10)
            others = {str(secrets.randbelow(90) + 10) for _ in range(6)} - {answer}
            choices = sorted([answer, *list(others)[:2]], key=lambda _: secrets.randbits(8))
        return self.send(to, "push", correct_answer=answer, choices=choices or [], status="pending", subject=subject)

    def activation(self, to: str, channel: str, secret: str, account: str) -> Message:
        """An Okta Verify activation: shown as a QR code, or sent by SMS / email as a link."""
        m = self.send(
            to,
            "activation",
            channel=channel,
            secret=secret,
            account=account,
            status="pending",
            subject="Activate Okta Verify",
        )
        m.link = f"oktaverify://activate?id={m.id}&account={account}"
        return m

    def find(self, message_id: str) -> Message | None:
        return next((m for m in self if m.id == message_id), None)

    def newest_first(self, to: str | None = None) -> list[Message]:
        return [m for m in reversed(self) if to is None or m.to.lower() == to.lower()]
