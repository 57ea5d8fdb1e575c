"""The classroom's cookies and codes (:mod:`pac.studio.classroom`): who may join under which name.

* The **class code** (6 digits) lets a student join the class; a student's **cookie** (signed with the
  classroom's secret, 30 days) opens that student's studio in that browser.
* A student who joins under a new name is given a **code to continue** (4 digits, kept in the
  classroom's private settings file beside the class code) and shown it.  Joining under a name that is
  taken (any case) needs that code, unless the browser already holds that student's cookie: the class
  code alone no longer opens another student's project.  Students from before these codes get one when
  they next join with their cookie, and the teacher's page shows (and so makes) every student's code.
* :class:`JoinPages` are the server's pages for it: ``/`` (the form), ``/join`` (where the form is
  POSTed: the codes never travel in an address) and ``/welcome``.
* Wrong codes of every kind are counted per address (:data:`MAX_GUESSES` in :data:`GUESS_WINDOW`);
  codes are compared in constant time.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from urllib.parse import quote

from .classroom_pages import FORM_REFERRER, PAGE_CSP, join_html, welcome_html
from .layout import StudioError, check_label_name, write_json_durable

STUDENTS = "students"
STUDENT_COOKIE, TEACHER_COOKIE = "pac-student", "pac-teacher"
#: How long a student stays joined on a computer (a new join replaces it).
COOKIE_SECONDS = 30 * 24 * 3600
#: How long the teacher's cookie opens every studio (then the teacher's code again): a cookie left in a
#: student's browser (the teacher helped on that computer) must not open the whole class for ever.
TEACHER_SECONDS = 12 * 3600
#: Wrong codes one address may try in :data:`GUESS_WINDOW` seconds before it must wait.
MAX_GUESSES, GUESS_WINDOW = 20, 600
#: Digits of a student's code to continue on another computer.
STUDENT_CODE_DIGITS = 4


class NameTakenError(StudioError):
    """Joining under a name that is taken, without that student's cookie or code (HTTP 403)."""

    def __init__(self, message: str, student: str):
        super().__init__(message, status=403)
        self.student = student


class ClassroomCodes:
    """The cookies and codes of a :class:`pac.studio.classroom.Classroom` (a mixin: it uses the
    classroom's ``settings``, ``settings_path``, ``lock``, ``guesses`` and ``find_student``)."""

    # -- joining -----------------------------------------------------------------------------------------
    def enter(self, raw_name, *, cookie_student: str | None = None, code=None, client: str = "") -> tuple[str, bool]:
        """Join under a typed name: ``(student, made)``, the student's folder name and whether their code
        to continue was made now (a new student, whose folder was made too, or one from before the codes
        joining with their cookie: the code is to be shown).  A name that is taken (any case) needs the
        browser to hold that student's cookie or that student's code (else :class:`NameTakenError`); a wrong
        code counts as a wrong guess from ``client``."""
        name = check_label_name(raw_name, what="student name")
        with self.lock:
            found = self.find_student(name)
            if found is None:
                (self.root / STUDENTS / name).mkdir()
                self._new_code(name)
                return name, True
            if cookie_student is not None and cookie_student == found:
                made = not self._code(found)
                if made:
                    self._new_code(found)
                return found, made
        if not "".join(str(code or "").split()):
            raise NameTakenError(
                f"Someone has joined as {found} already. If that is you, type your code to continue "
                f"(it was shown when you joined; your teacher has it too), or choose another name.",
                found,
            )
        if not self.code_matches(code, self.student_code(found), client):
            raise NameTakenError(f"That is not {found}'s code to continue; ask your teacher.", found)
        return found, False

    def student_code(self, student: str) -> str:
        """The student's code to continue on another computer (made now for a student from before the codes)."""
        with self.lock:
            return self._code(student) or self._new_code(student)

    def _code(self, student: str) -> str | None:
        codes = self.settings.get("students")
        code = codes.get(student) if isinstance(codes, dict) else None
        return code if isinstance(code, str) and code.isdigit() else None

    def _new_code(self, student: str) -> str:
        """Make and keep a new code for ``student`` (the caller holds the lock)."""
        code = f"{secrets.randbelow(10**STUDENT_CODE_DIGITS):0{STUDENT_CODE_DIGITS}d}"
        if not isinstance(self.settings.get("students"), dict):
            self.settings["students"] = {}
        self.settings["students"][student] = code
        write_json_durable(self.settings_path, self.settings, private=True)  # the codes: this user only
        return code

    # -- cookies -----------------------------------------------------------------------------------------
    def _sign(self, what: str) -> str:
        return hmac.new(bytes.fromhex(self.settings["secret"]), what.encode("utf-8"), hashlib.sha256).hexdigest()[:40]

    def student_cookie(self, student: str) -> str:
        token = base64.urlsafe_b64encode(student.encode("utf-8")).decode("ascii").rstrip("=")
        return f"{token}.{self._sign('student:' + student)}"

    def cookie_student(self, value: str | None) -> str | None:
        """The student a cookie value names, if it is this classroom's."""
        if not value or value.count(".") != 1:
            return None
        token, signature = value.split(".")
        try:
            student = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode("utf-8")
        except (ValueError, UnicodeDecodeError):
            return None
        return student if hmac.compare_digest(signature, self._sign("student:" + student)) else None

    def teacher_cookie(self, now: float | None = None) -> str:
        """The teacher's cookie value: when it was made and its signature (valid :data:`TEACHER_SECONDS`)."""
        issued = str(int(time.time() if now is None else now))
        return f"{issued}.{self._sign('teacher:' + issued)}"

    def is_teacher(self, value: str | None) -> bool:
        """Whether a cookie value is a teacher's cookie of this classroom made less than
        :data:`TEACHER_SECONDS` ago."""
        issued, _, signature = (value or "").partition(".")
        if not (issued.isascii() and issued.isdigit() and len(issued) <= 12 and signature.isascii()):
            return False
        if not hmac.compare_digest(signature.encode(), self._sign("teacher:" + issued).encode()):
            return False
        return 0 <= time.time() - int(issued) < TEACHER_SECONDS

    def code_matches(self, typed, code: str, client: str) -> bool:
        """Whether a typed code (spaces and case ignored) is ``code``; wrong guesses are counted per address."""
        now = time.monotonic()
        with self.lock:
            recent = [t for t in self.guesses.get(client, []) if now - t < GUESS_WINDOW]
            if len(recent) >= MAX_GUESSES:
                raise StudioError("too many wrong codes from this computer; wait ten minutes", status=429)
            typed = "".join(str(typed or "").split()).lower()
            if hmac.compare_digest(typed.encode(), code.lower().encode()):
                return True
            self.guesses[client] = [*recent, now]
            return False


class JoinPages:
    """The join pages of :class:`pac.studio.classroom.ClassroomServer` (a mixin: it uses the server's
    ``classroom`` and ``redirect``)."""

    def taken(self, name: str, student: str | None) -> bool:
        """Whether joining as ``name`` from this browser (holding ``student``'s cookie) needs a code."""
        try:
            found = self.classroom.find_student(check_label_name(name, what="student name")) if name else None
        except StudioError:
            return False
        return found is not None and found != student

    def join_page(self, handler, *, name="", student=None, error=None, status=400, ask_code=False) -> None:
        code = self.classroom.student_code(student) if student else None
        handler.send_bytes(
            join_html(name=name, student=student, code=code, error=error, ask_code=ask_code),
            "text/html; charset=utf-8",
            status=status if error else 200,
            csp=PAGE_CSP,
            referrer=FORM_REFERRER,
        )

    def join(self, handler, holder: str | None, form: dict[str, str]) -> None:
        """``POST /join`` with the join page's ``form`` (``code``, ``name``, ``student_code``): a new name
        is made and its code shown (``/welcome``); a name that is taken opens for its student's cookie or
        code only."""
        code, name = form.get("code", ""), form.get("name", "")
        client = handler.client_address[0]
        if not self.classroom.code_matches(code, self.classroom.class_code, client):
            self.join_page(handler, name=name, student=holder, error="That is not the class code; ask your teacher.")
            return
        try:
            student, made = self.classroom.enter(
                name, cookie_student=holder, code=form.get("student_code", ""), client=client
            )
            self.classroom.project(student)
        except NameTakenError as exc:
            self.join_page(handler, name=name, student=holder, error=str(exc), status=403, ask_code=True)
            return
        except StudioError as exc:
            if exc.status == 429:
                raise
            self.join_page(handler, name=name, student=holder, error=str(exc))
            return
        cookie = (
            f"{STUDENT_COOKIE}={self.classroom.student_cookie(student)}; Path=/; Max-Age={COOKIE_SECONDS}; "
            "Secure; HttpOnly; SameSite=Strict"
        )
        self.redirect(handler, "/welcome" if made else f"/s/{quote(student)}/", cookies=[cookie])

    def welcome(self, handler, student: str | None) -> None:
        """``/welcome``, after joining under a new name: the student's code to continue and the way on."""
        if student is None:
            self.redirect(handler, "/")
            return
        page = welcome_html(student, self.classroom.student_code(student))
        handler.send_bytes(page, "text/html; charset=utf-8", csp=PAGE_CSP)


__all__ = [
    "COOKIE_SECONDS",
    "GUESS_WINDOW",
    "MAX_GUESSES",
    "STUDENT_COOKIE",
    "STUDENTS",
    "TEACHER_COOKIE",
    "TEACHER_SECONDS",
    "ClassroomCodes",
    "JoinPages",
    "NameTakenError",
]
