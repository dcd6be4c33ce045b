"""The passcode family: authenticators answered by one typed code (`credentials.passcode`) checked
against the enrollment: TOTP hardware and vendor tokens (RSA SecurID, on-prem MFA, Symantec VIP),
YubiKey OTP, temporary access codes and NFC PINs."""

from __future__ import annotations

import time

from . import totp
from .authenticator_base import Error, Kind, Services
from .compare import same
from .ion import field as fld
from .org import Enrollment, Org, User
from .transaction import Challenge, Transaction


class Passcode(Kind):
    """The passcode family: one `credentials.passcode` answers `challenge-authenticator`. Subclasses
    say how a code is accepted (`accept`) and how it is labelled."""

    enrollable = False
    method = "otp"
    answer_label = "Enter code"
    answer_extra: dict = {}
    error = "passcode_invalid"

    def methods(self, org: Org) -> list[str]:
        return [self.method]

    def answer_fields(self, org: Org, ch: Challenge) -> list[dict]:
        return [fld("passcode", self.answer_label, **self.answer_extra)]

    def check(self, engine: Services, tx: Transaction, ch: Challenge, creds: dict) -> None:
        if not self.accept(engine, ch.known_enrollment, str(creds.get("passcode") or "").strip()):
            raise Error(self.error)

    def accept(self, engine: Services, enrollment: Enrollment, code: str) -> bool:
        raise NotImplementedError


class TotpPasscode(Passcode):
    """A hardware or vendor token showing RFC 6238 codes of the enrollment's `secret` (the demo
    documents each secret, so any authenticator app shows the same codes)."""

    def accept(self, engine: Services, enrollment: Enrollment, code: str) -> bool:
        return totp.verify(enrollment.data["secret"], code)


class RsaToken(TotpPasscode):
    key, type, label = "rsa_token", "security_key", "RSA SecurID"


class OnPremMfa(TotpPasscode):
    key, type, label = "onprem_mfa", "security_key", "On-Prem MFA"


class SymantecVip(TotpPasscode):
    """Symantec VIP: verified like a TOTP token; enrolled with the credential id printed on the
    token (one of the org's `[[tokens]]`) and two consecutive codes."""

    key, type, label = "symantec_vip", "app", "Symantec VIP"
    current_authenticator = True
    enrollable = True
    answer_label = "Enter security code"
    answer_extra = {"required": True, "visible": True}
    error = "vip_invalid"

    def enroll_answer_fields(self, org: Org, ch: Challenge) -> list[dict]:
        return [
            fld("credentialId", "Enter credential ID", required=True, visible=True),
            fld("passcode", "Security Code 1", required=True, visible=True),
            fld("nextPasscode", "Security Code 2", required=True, visible=True),
        ]

    def begin_enroll(self, engine: Services, tx: Transaction, ch: Challenge, submitted: dict) -> str | None:
        return None

    def check_enroll(self, engine: Services, tx: Transaction, ch: Challenge, creds: dict) -> None:
        credential_id = str(creds.get("credentialId") or "").strip().upper()
        token = engine.org.token(self.key, credential_id)
        if (
            token is None
            or token.secret is None
            or engine.org.token_holder(self.key, token.id) not in (None, tx.known_user)
        ):
            raise Error("invalid_value", path=("credentialId",), status=400)
        first, second = (str(creds.get(n) or "").strip() for n in ("passcode", "nextPasscode"))
        now = int(time.time() // totp.STEP)
        # Two codes the token showed one after the other, the second at most one step ahead.
        if not any(
            totp.hotp(token.secret, c) == first and totp.hotp(token.secret, c + 1) == second
            for c in range(now - 3, now + 1)
        ):
            raise Error(self.error)
        ch.data.update(credential_id=token.id, secret=token.secret)


MODHEX = "cbdefghijklnrtuv"


class YubiKey(Passcode):
    """YubiKey OTP: 44 modhex characters, the key's 12-character public id then 32 more that are new
    each time the key is touched. The simulator accepts any OTP that starts with the enrolled key's
    public id, is well formed, and has never been used before (a replay fails)."""

    key, type, label = "yubikey_token", "security_key", "YubiKey Authenticator"
    enrollable = True
    answer_label = "Insert then tap your YubiKey"
    answer_extra = {"required": True, "secret": True}

    def describe_enrollment(self, org: Org, user: User, enrollment: Enrollment) -> dict:
        d = super().describe_enrollment(org, user, enrollment)
        d["credentialId"] = enrollment.data["credential_id"]
        return d

    @staticmethod
    def parse(code: str) -> str | None:
        """The public id of a well-formed OTP, else None."""
        code = code.lower()
        if len(code) != 44 or any(c not in MODHEX for c in code):
            return None
        return code[:12]

    def spend(self, engine: Services, code: str) -> bool:
        code = code.lower()
        if code in engine.spent_otps:
            return False
        engine.spent_otps.add(code)
        return True

    def accept(self, engine: Services, enrollment: Enrollment, code: str) -> bool:
        return self.parse(code) == enrollment.data["credential_id"] and self.spend(engine, code)

    def begin_enroll(self, engine: Services, tx: Transaction, ch: Challenge, submitted: dict) -> str | None:
        return None

    def check_enroll(self, engine: Services, tx: Transaction, ch: Challenge, creds: dict) -> None:
        code = str(creds.get("passcode") or "").strip()
        public_id = self.parse(code)
        token = engine.org.token(self.key, public_id) if public_id else None
        if (
            token is None
            or engine.org.token_holder(self.key, token.id) not in (None, tx.known_user)
            or not self.spend(engine, code)
        ):
            raise Error(self.error)
        ch.data["credential_id"] = token.id


class TemporaryAccessCode(Passcode):
    """A temporary access code an administrator issued: the enrollment's `code`, good once."""

    key, type, label, method = "tac", "tac", "Temporary Access Code", "tac"
    answer_extra = {"secret": True}

    def accept(self, engine: Services, enrollment: Enrollment, code: str) -> bool:
        data = enrollment.data
        if data.get("used") or not same(code.upper(), str(data["code"]).upper()):
            return False
        data["used"] = True
        return True


class NfcPin(Passcode):
    """An NFC card unlocked with the user's PIN (the enrollment's `pin`)."""

    key, type, label, method = "nfc_pin", "proximity", "NFC", "nfc_pin"
    current_authenticator = True
    answer_label = "PIN"
    answer_extra = {"secret": True}

    def accept(self, engine: Services, enrollment: Enrollment, code: str) -> bool:
        return same(code, str(enrollment.data["pin"]))
