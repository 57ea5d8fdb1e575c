"""The classroom's own pages (:mod:`pac.studio.classroom`): joining the class, the teacher's code and the
teacher's overview.  Plain HTML made on the server, every variable part escaped; no script (the
overview refreshes itself with a ``Refresh`` header), one inline style allowed by its hash.
"""

from __future__ import annotations

import base64
import hashlib
import html
from urllib.parse import quote

from .handler import CSP
from .tls import qr_svg_uri

#: Seconds between refreshes of the teacher's page.
TEACHER_REFRESH = 10
#: Below this many usable clips a label is marked on the teacher's page (5 or more work better).
FEW_CLIPS = 5

_STYLE = """
body { font: 16px/1.45 system-ui, sans-serif; margin: 2rem auto; max-width: 60rem; padding: 0 1rem; color: #1d1d1f; }
h1 { font-size: 1.5rem; } label { display: block; margin: .8rem 0 .2rem; font-weight: 600; }
input { font: inherit; padding: .45rem .6rem; width: 100%; max-width: 22rem; box-sizing: border-box; }
button { font: inherit; padding: .5rem 1.2rem; margin-top: 1rem; cursor: pointer; }
.error { color: #b00020; font-weight: 600; } .note { color: #555; }
table { border-collapse: collapse; margin: 1rem 0; }
th, td { border: 1px solid #ccc; padding: .3rem .6rem; text-align: left; }
.low { color: #b00020; } .code { font-family: monospace; font-size: 1.15em; }
.qr { float: right; margin: 0 0 1rem 1rem; }
"""
#: The studio's policy, with forms posting to this server and the one style block above.
_STYLE_HASH = base64.b64encode(hashlib.sha256(_STYLE.encode()).digest()).decode()
PAGE_CSP = CSP.replace("form-action 'none'", "form-action 'self'").replace(
    "style-src 'self'", f"style-src 'sha256-{_STYLE_HASH}'"
)
#: The Referrer-Policy of a page with a form (the join page, the teacher's code): under the studio's
#: ``no-referrer`` a browser sends ``Origin: null`` with the form's POST, and the server wants its own
#: origin there (:mod:`pac.studio.handler`); ``same-origin`` still tells other sites nothing.
FORM_REFERRER = "same-origin"


def page(title: str, body: str) -> bytes:
    """A classroom page: ``body`` is HTML whose every variable part was escaped."""
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(title)}</title><style>{_STYLE}</style></head><body>{body}</body></html>"
    ).encode()


def join_html(
    *, name: str = "", student: str | None = None, code: str | None = None, error: str | None = None, ask_code=False
) -> bytes:
    """The join page: the class code and a name (``name`` typed before; ``student`` already joined in this
    browser, ``code`` their code to continue); ``ask_code``: the name is taken, so ask for its student's code."""
    e = html.escape
    again = (
        (
            f'<p>On this computer you are <strong>{e(student)}</strong>: <a href="/s/{e(quote(student))}/">open '
            f"your studio</a>, or join as someone else below.</p>"
            + (f'<p class="note">{e(student)}\'s code to continue on another computer: <strong>{e(code)}</strong></p>')
        )
        if student
        else ""
    )
    asked = (
        '<label for="student_code">Your code to continue (shown when you first joined; your teacher has it '
        'too)</label><input id="student_code" name="student_code" inputmode="numeric" autocomplete="off">'
        if ask_code
        else ""
    )
    return page(
        "pac studio: join",
        f"<h1>pac studio: join the class</h1>{again}"
        + (f'<p class="error" role="alert">{e(error)}</p>' if error else "")
        + '<form action="/join" method="post">'
        '<label for="code">Class code (your teacher shows it)</label>'
        '<input id="code" name="code" inputmode="numeric" autocomplete="off" required>'
        '<label for="name">Your name</label>'
        f'<input id="name" name="name" maxlength="40" value="{e(name)}" required>'
        f"{asked}"
        '<p class="note">Letters, digits, spaces, - and _. Your recordings and models are kept under '
        "this name on the teacher's computer. Joined before on another computer? Type the same name: you "
        "will be asked for your code to continue.</p>"
        '<button type="submit">Join</button></form>',
    )


def welcome_html(student: str, code: str) -> bytes:
    """After joining under a new name: the student's code to continue on another computer, and the way on."""
    e = html.escape
    return page(
        "pac studio: welcome",
        f"<h1>Welcome, {e(student)}</h1>"
        f'<p>Your code to continue on another computer: <strong class="code" id="student-code">{e(code)}</strong></p>'
        '<p class="note">Write it down. On another computer, type the class code, your name and this code to '
        "get to your recordings and models. Your teacher can look it up too.</p>"
        f'<p><a id="continue" href="/s/{e(quote(student))}/">Continue to your studio</a></p>',
    )


def teacher_login_html(*, wrong: bool) -> bytes:
    """The form asking for the teacher's code (``wrong``: a wrong one was typed)."""
    return page(
        "pac studio: teacher",
        "<h1>pac studio: teacher</h1>"
        + ('<p class="error" role="alert">That is not the teacher\'s code.</p>' if wrong else "")
        + '<form action="/teacher" method="post"><label for="code">Teacher\'s code (shown where '
        'pac studio runs)</label><input id="code" name="code" autocomplete="off" required>'
        '<button type="submit">Open</button></form>',
    )


def _accuracy(model: dict) -> str:
    """The model's accuracy as the page says it; a report.json may hold anything (an imported model's),
    so only a number is shown."""
    number = lambda value: isinstance(value, (int, float)) and not isinstance(value, bool)  # noqa: E731
    if number(model["cv_accuracy"]):
        return f" ({100 * model['cv_accuracy']:.0f}% cross-validated)"
    if number(model["validation_accuracy"]):
        return f" ({100 * model['validation_accuracy']:.0f}% on validation clips)"
    return ""


def teacher_html(classroom) -> bytes:
    """The teacher's overview of a :class:`pac.studio.classroom.Classroom`: the address (and its QR code),
    the class code, and per student the code to continue on another computer, the clips per label, the
    models and the training."""
    e = html.escape
    rows = []
    for row in classroom.overview():
        link = f'<a href="/s/{e(quote(row["student"]))}/">{e(row["student"])}</a>'
        code = f'<td class="code">{e(row["code"])}</td>'
        if "error" in row:
            rows.append(f'<tr><td>{link}</td>{code}<td colspan="3" class="error">{e(row["error"])}</td></tr>')
            continue
        labels = (
            ", ".join(
                f'<span class="{"low" if label["clips"] < FEW_CLIPS else "ok"}">{e(label["name"])}: '
                f"{label['clips']}</span>"
                for label in row["labels"]
            )
            or "no labels yet"
        )
        models = ", ".join(e(m["name"]) + _accuracy(m) for m in row["models"]) or "none yet"
        job = row["training"]
        training = "" if job is None else e(job["stage"] if job["state"] == "running" else job["state"])
        rows.append(
            f'<tr data-student="{e(row["student"])}"><td>{link}</td>{code}<td>{labels}</td><td>{models}</td>'
            f"<td>{training}</td></tr>"
        )
    return page(
        "pac studio: teacher",
        (
            f'<img class="qr" alt="QR code of {e(classroom.url)}" width="180" height="180" '
            f'src="{e(qr_svg_uri(classroom.url))}">'
            f"<h1>pac studio: the class</h1><p>Students open <strong>{e(classroom.url)}</strong> and type the "
            f"class code <strong>{e(classroom.class_code)}</strong> and their name. A student who joined before "
            "types the same name and their code to continue (below; shown to them when they joined).</p>"
            f'<p class="note">Refreshed every {TEACHER_REFRESH} s. One model trains at a time; '
            f"{classroom.queue.length} waiting.</p>"
            "<table><thead><tr><th>Student</th><th>Code to continue</th><th>Clips per label</th><th>Models</th>"
            "<th>Training</th></tr>"
            f"</thead><tbody>{''.join(rows) or '<tr><td colspan=5>Nobody has joined yet.</td></tr>'}</tbody></table>"
        ),
    )


__all__ = [
    "FORM_REFERRER",
    "PAGE_CSP",
    "TEACHER_REFRESH",
    "join_html",
    "teacher_html",
    "teacher_login_html",
    "welcome_html",
]
