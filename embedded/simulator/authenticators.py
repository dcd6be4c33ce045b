"""One class per authenticator key: how it is described, challenged, enrolled and how an answer is
checked. Adding an authenticator kind means adding a class here and listing it in KINDS."""

from __future__ import annotations

import base64
import io
import re
import secrets
import time
from dataclasses import dataclass, field

import segno

from . import ion, totp
from .ion import field as fld
from .ion import fixed
from .org import QUESTIONS, Enrollment, Org, User

CODE_LIFETIME = 300  # seconds an emailed / texted code stays valid



@dataclass
class Challenge:
    """An authenticator in play in a transaction: being verified (`enrollment` set) or enrolled
    (`data` collects what the new enrollment will hold)."""

    key: str
    purpose: str  # verify | enroll | reset | reenroll
    method: str | None = None
    enrollment: Enrollment | None = None
    data: dict = field(default_factory=dict)
    code: str | None = None
    code_expires: float = 0.0
    push_id: str | None = None


class Error(Exception):
    """A rejected answer: message name (ion.MSG), field path inside `credentials`, HTTP status."""

    def __init__(self, name: str, path=("passcode",), status: int = 401, params=()):
        super().__init__(name)
        self.name, self.path, self.status, self.params = name, list(path), status, params


def new_code() -> str:
    return f"{secrets.randbelow(10**6):06d}"


def mask_email(email: str) -> str:
    local, _, domain = email.partition("@")
    return f"{local[:1]}***{local[-1:] if len(local) > 1 else ''}@{domain}"


def mask_phone(phone: str) -> str:
    digits = re.sub(r"\D", "", phone)
    return f"+{digits[:-10] or '1'} XXX-XXX-{digits[-4:]}"


class Kind:
    key = ""
    type = ""
    label = ""
    enrollable = True
    amr = "otp"

    def methods(self, org: Org) -> list[str]:
        return [self.type]

    def describe(self, org: Org) -> dict:
        return {
            "type": self.type,
            "key": self.key,
            "id": org.authenticator_id(self.key),
            "displayName": self.label,
            "methods": [{"type": m} for m in self.methods(org)],
        }

    def describe_enrollment(self, org: Org, user: User, enrollment: Enrollment) -> dict:
        d = self.describe(org)
        d["id"] = enrollment.id
        d["authenticatorId"] = org.authenticator_id(self.key)
        profile = self.profile(user, enrollment)
        if profile:
            d["profile"] = profile
        return d

    def profile(self, user: User, enrollment: Enrollment) -> dict | None:
        return None

    def needs_method_choice(self, org: Org) -> bool:
        return len(self.methods(org)) > 1

    # -- verification
    def start(self, engine, tx, ch: Challenge) -> None:
        """Send whatever the user needs to answer (a code, a push)."""

    def answer_fields(self, org: Org, ch: Challenge) -> list[dict]:
        return [fld("passcode", "Enter code")]

    def check(self, engine, tx, ch: Challenge, creds: dict) -> None:
        raise NotImplementedError

    def contextual_data(self, engine, tx, ch: Challenge) -> dict | None:
        return None

    # -- enrollment
    def enrollment_data_fields(self, org: Org) -> list[dict] | None:
        """Fields of `authenticator-enrollment-data` when enrolling needs input first (phone)."""
        return None

    def enroll_answer_fields(self, org: Org, ch: Challenge) -> list[dict]:
        return self.answer_fields(org, ch)

    def begin_enroll(self, engine, tx, ch: Challenge, submitted: dict) -> None:
        self.start(engine, tx, ch)

    def check_enroll(self, engine, tx, ch: Challenge, creds: dict) -> None:
        self.check(engine, tx, ch, creds)

    def amr_for(self, ch: Challenge) -> str:
        return self.amr


class OtpByMessage(Kind):
    """Codes delivered by the outbox (email, SMS, voice)."""

    def _send(self, engine, tx, ch: Challenge, to: str, kind: str, link: str | None = None) -> None:
        ch.code = new_code()
        ch.code_expires = time.time() + CODE_LIFETIME
        engine.outbox.send(to, kind, code=ch.code, link=link, subject=f"{engine.org.name} verification code")

    def check(self, engine, tx, ch: Challenge, creds: dict) -> None:
        code = str(creds.get("passcode") or "").strip()
        if not ch.code or time.time() > ch.code_expires or not secrets.compare_digest(code, ch.code):
            raise Error("passcode_invalid")


class Email(OtpByMessage):
    key, type, label, amr = "okta_email", "email", "Email", "email"

    def address(self, tx, ch: Challenge) -> str:
        return ch.enrollment.data.get("email") if ch.enrollment else ch.data.get("email") or tx.user.email

    def profile(self, user: User, enrollment: Enrollment) -> dict | None:
        return {"email": mask_email(enrollment.data.get("email", user.email))}

    def start(self, engine, tx, ch: Challenge) -> None:
        to = self.address(tx, ch) or tx.user.email
        ch.data.setdefault("email", to)
        self._send(engine, tx, ch, to, "email")
        if engine.org.email_magic_link:
            # The link lands on the app's callback, which resumes the transaction found by `state`.
            sep = "&" if "?" in tx.redirect_uri else "?"
            engine.outbox[-1].link = f"{tx.redirect_uri}{sep}state={tx.state}&otp={ch.code}"

    def contextual_data(self, engine, tx, ch: Challenge) -> dict | None:
        return {"useEmailMagicLink": engine.org.email_magic_link}


class Phone(OtpByMessage):
    key, type, label, amr = "phone_number", "phone", "Phone", "sms"

    def methods(self, org: Org) -> list[str]:
        return list(org.phone_methods)

    def profile(self, user: User, enrollment: Enrollment) -> dict | None:
        return {"phoneNumber": mask_phone(enrollment.data["phone"])}

    def start(self, engine, tx, ch: Challenge) -> None:
        phone = ch.enrollment.data["phone"] if ch.enrollment else ch.data["phone"]
        self._send(engine, tx, ch, phone, ch.method or "sms")

    def enrollment_data_fields(self, org: Org) -> list[dict]:
        return [
            fixed("id", org.authenticator_id(self.key)),
            fld("methodType", required=True, options=ion.choices(
                [(m, "SMS" if m == "sms" else "Voice call") for m in self.methods(org)])),
            fld("phoneNumber", "Phone number", required=True, type="string"),
        ]

    def begin_enroll(self, engine, tx, ch: Challenge, submitted: dict) -> None:
        number = re.sub(r"[\s().-]", "", str(submitted.get("phoneNumber") or ""))
        if not re.fullmatch(r"\+[1-9]\d{7,14}", number):
            raise Error("invalid_phone", path=("phoneNumber",), status=400)
        ch.data["phone"] = number
        self.start(engine, tx, ch)

    def amr_for(self, ch: Challenge) -> str:
        return "tel" if ch.method == "voice" else "sms"


class Totp(Kind):
    """Authenticator apps: the code comes from a shared TOTP secret."""

    credential = "passcode"

    def check(self, engine, tx, ch: Challenge, creds: dict) -> None:
        secret = ch.enrollment.data["secret"] if ch.enrollment else ch.data["secret"]
        if not totp.verify(secret, str(creds.get(self.credential) or "")):
            raise Error("passcode_invalid", path=(self.credential,))

    def begin_enroll(self, engine, tx, ch: Challenge, submitted: dict) -> None:
        ch.data["secret"] = base64.b32encode(secrets.token_bytes(10)).decode()

    def contextual_data(self, engine, tx, ch: Challenge) -> dict | None:
        if ch.purpose != "enroll":
            return None
        uri = totp.provisioning_uri(ch.data["secret"], tx.user.login, engine.org.name)
        png = io.BytesIO()
        segno.make(uri, error="m").save(png, kind="png", scale=4)
        return {
            "qrcode": {
                "method": "embedded",
                "href": "data:image/png;base64," + base64.b64encode(png.getvalue()).decode(),
                "type": "image/png",
            },
            "sharedSecret": ch.data["secret"],
        }


class GoogleAuthenticator(Totp):
    key, type, label = "google_otp", "app", "Google Authenticator"

    def methods(self, org: Org) -> list[str]:
        return ["otp"]

    def needs_method_choice(self, org: Org) -> bool:
        return False


class OktaVerify(Totp):
    """Push (with an optional number challenge, answered at /outbox) or a TOTP code."""

    key, type, label, amr = "okta_verify", "app", "Okta Verify", "mca"
    credential = "totp"
    enrollable = False  # device enrollment (QR + app) arrives with a later issue

    def methods(self, org: Org) -> list[str]:
        return ["push", "totp"]

    def profile(self, user: User, enrollment: Enrollment) -> dict | None:
        return {"deviceName": enrollment.data.get("device_name", "Okta Verify")}

    def answer_fields(self, org: Org, ch: Challenge) -> list[dict]:
        return [fld("totp", "Enter code from Okta Verify app", required=True)]

    def start(self, engine, tx, ch: Challenge) -> None:
        if ch.method == "push":
            ch.push_id = engine.outbox.push(tx.user.login, engine.org.number_challenge).id

    def push(self, engine, ch: Challenge):
        return engine.outbox.find(ch.push_id) if ch.push_id else None

    def contextual_data(self, engine, tx, ch: Challenge) -> dict | None:
        push = self.push(engine, ch)
        return {"correctAnswer": push.correct_answer} if push and push.correct_answer else None

    def amr_for(self, ch: Challenge) -> str:
        return "mca" if ch.method == "push" else "otp"


class SecurityQuestion(Kind):
    key, type, label, amr = "security_question", "security_question", "Security Question", "kba"

    def profile(self, user: User, enrollment: Enrollment) -> dict | None:
        return self._question(enrollment.data)

    @staticmethod
    def _question(data: dict) -> dict:
        key = data.get("question_key", "custom")
        return {"questionKey": key, "question": data.get("question") or QUESTIONS.get(key, key)}

    def answer_fields(self, org: Org, ch: Challenge) -> list[dict]:
        q = self._question(ch.enrollment.data)
        return [
            fixed("questionKey", q["questionKey"], label=q["question"], visible=False),
            fld("answer", "Answer", required=True, secret=True),
        ]

    def contextual_data(self, engine, tx, ch: Challenge) -> dict | None:
        if ch.purpose == "enroll":
            return {
                "questionKeys": [*QUESTIONS, "custom"],
                "questions": [{"questionKey": k, "question": q} for k, q in QUESTIONS.items()],
            }
        return {"enrolledQuestion": self._question(ch.enrollment.data)}

    def check(self, engine, tx, ch: Challenge, creds: dict) -> None:
        given = str(creds.get("answer") or "").strip().lower()
        if not secrets.compare_digest(given.encode(), ch.enrollment.data["answer"].strip().lower().encode()):
            raise Error("answer_wrong", path=("answer",))

    def enroll_answer_fields(self, org: Org, ch: Challenge) -> list[dict]:
        answer = fld("answer", "Answer", required=True, secret=True)
        return [
            {"name": "credentials", "type": "object", "required": True, "options": [
                ion.option("Choose a security question", [
                    fld("questionKey", "Choose a security question", type="string", required=True,
                        options=ion.choices(QUESTIONS.items())),
                    answer,
                ]),
                ion.option("Create my own security question", [
                    fixed("questionKey", "custom"),
                    fld("question", "Create a security question", required=True),
                    answer,
                ]),
            ]},
        ]

    def begin_enroll(self, engine, tx, ch: Challenge, submitted: dict) -> None:
        pass

    def check_enroll(self, engine, tx, ch: Challenge, creds: dict) -> None:
        key = str(creds.get("questionKey") or "")
        answer = str(creds.get("answer") or "").strip()
        if key != "custom" and key not in QUESTIONS:
            raise Error("invalid_value", path=("questionKey",), status=400)
        if key == "custom" and not str(creds.get("question") or "").strip():
            raise Error("required", path=("question",), status=400)
        if len(answer) < 4:
            raise Error("answer_short", path=("answer",), status=400, params=(4,))
        ch.data.update(question_key=key, answer=answer)
        if key == "custom":
            ch.data["question"] = str(creds["question"]).strip()


class Password(Kind):
    key, type, label, amr = "okta_password", "password", "Password", "pwd"

    def settings(self, org: Org) -> dict:
        p = org.password
        complexity = {
            "minLength": p.min_length, "minLowerCase": p.min_lower, "minUpperCase": p.min_upper,
            "minNumber": p.min_number, "minSymbol": p.min_symbol, "excludeUsername": p.exclude_username,
            "excludeAttributes": list(p.exclude_attributes),
        }
        if p.max_consecutive_repeating:
            complexity["maxConsecutiveRepeatingCharacters"] = p.max_consecutive_repeating
        return {"complexity": complexity, "age": {"minAgeMinutes": p.min_age_minutes, "historyCount": p.history_count}}

    def answer_fields(self, org: Org, ch: Challenge) -> list[dict]:
        if ch.purpose == "reset":
            return [fld("passcode", "New password", secret=True),
                    fld("revokeSessions", "Sign me out of all other devices", type="boolean")]
        if ch.purpose in ("enroll", "reenroll"):
            return [fld("passcode", "New password" if ch.purpose == "reenroll" else "Enter password", secret=True)]
        return [fld("passcode", "Password", secret=True)]

    def check(self, engine, tx, ch: Challenge, creds: dict) -> None:
        given = str(creds.get("passcode") or "")
        if not tx.user.password or not secrets.compare_digest(given.encode(), tx.user.password.encode()):
            raise Error("password_incorrect")

    def begin_enroll(self, engine, tx, ch: Challenge, submitted: dict) -> None:
        pass

    def check_enroll(self, engine, tx, ch: Challenge, creds: dict) -> None:
        new = str(creds.get("passcode") or "")
        problem = password_problem(engine.org, tx.user, new)
        if problem:
            raise Error(problem[0], status=400, params=problem[1:])
        ch.data["password"] = new


def password_requirements(org: Org) -> str:
    p = org.password
    parts = [f"at least {p.min_length} characters"]
    parts += ["a lowercase letter"] if p.min_lower else []
    parts += ["an uppercase letter"] if p.min_upper else []
    parts += ["a number"] if p.min_number else []
    parts += ["a symbol"] if p.min_symbol else []
    parts += ["no parts of your username"] if p.exclude_username else []
    parts += [f"does not include your {'first' if a == 'firstName' else 'last'} name"
              for a in p.exclude_attributes if a in ("firstName", "lastName")]
    text = "Password requirements: " + ", ".join(parts) + "."
    if p.history_count:
        text += f" Your password cannot be any of your last {p.history_count} passwords."
    return text


def password_problem(org: Org, user: User, pw: str) -> tuple | None:
    """None when `pw` satisfies the org's password policy for `user`, else (message name, params…)."""
    p = org.password
    lower = pw.lower()
    username_parts = [s for s in re.split(r"[@._\-+]", user.login.lower()) if len(s) >= 3]
    names = {"firstName": user.first_name, "lastName": user.last_name}
    broken = (
        len(pw) < p.min_length
        or sum(c.islower() for c in pw) < p.min_lower
        or sum(c.isupper() for c in pw) < p.min_upper
        or sum(c.isdigit() for c in pw) < p.min_number
        or sum(not c.isalnum() for c in pw) < p.min_symbol
        or (p.exclude_username and any(part in lower for part in username_parts))
        or any(names.get(a) and names[a].lower() in lower for a in p.exclude_attributes)
        or (p.history_count and user.password == pw)
        or (p.max_consecutive_repeating
            and re.search(r"(.)\1{%d,}" % p.max_consecutive_repeating, pw))
    )
    if broken:
        return ("requirements", password_requirements(org))
    if pw in p.common:
        return ("common_password",)
    return None


KINDS: dict[str, Kind] = {k.key: k for k in (
    Password(), Email(), Phone(), GoogleAuthenticator(), OktaVerify(), SecurityQuestion(),
)}


def kind(key: str) -> Kind:
    return KINDS[key]
