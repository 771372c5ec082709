"""The words our scripts (static/*.js) write on a page, in the page's language.

A script says `appWord("Rows checked so far: {n}", {n: 120})` (the helper is at the top
of static/admin.js): the English text is the key, and `{name}` places are filled in.
The translations come from `GET /admin/_api/words.js?l=<language>&v=<digest>`, which
sets `window.appWords` ({English: translated}) and which `base.html` loads before the
other scripts: a file of our origin, so the Content-Security-Policy allows it without a
nonce, and kept by the browser for good under its digest, so a list page carries one
`<script src>` of it instead of some 5 kB of words. English pages get an empty table:
the key is the text.

`WORDS` is the one list of those texts; `N_` marks each for `make translations`, and
tests/admin/test_script_words.py fails when a script writes English outside the helper,
asks for a word not listed here, or when a catalogue lacks one.
"""

from __future__ import annotations

import hashlib
import json
from functools import cache

from jinja2 import Environment, pass_context
from jinja2.runtime import Context
from starlette_admin import i18n

from admin_app.languages import DEFAULT, parse_locale


def N_(text: str) -> str:
    """`text`, marked for translation, translated later (by `words_script`)."""
    return text


WORDS: tuple[str, ...] = (
    # admin.js
    N_("Table, scrolls sideways"),
    # bulk_edit.js
    N_("Working: {done} of {total} rows done."),
    # child_rows.js
    N_("Row"),
    N_("Move {thing} {n} up"),
    N_("Move {thing} {n} down"),
    N_("{thing} moved to place {n} of {total}."),
    N_("{thing} {n} added."),
    N_("{thing} will be removed when you save."),
    N_("{thing} kept."),
    # export.js
    N_("The export dialog could not be opened; reload the page and try again."),
    N_("Close"),
    N_("Cancel"),
    N_("Starting…"),
    N_("{done} of {total} rows"),
    N_("{done} of about {total} rows"),
    N_("{size} received ({total} rows)"),
    N_("{size} received (about {total} rows)"),
    N_("{n} KB"),
    N_("{n} MB"),
    N_("The export could not be made."),
    N_("Done: {n} rows, {size}."),
    N_("Exported {n} rows to {file} ({size})."),
    N_("Exported about {n} rows to {file} ({size})."),
    N_("Cancelled."),
    N_("The export stopped before the end; nothing was saved."),
    # fields.js
    N_("Search in {name}"),
    N_("Search"),
    N_("Search..."),
    # frame.js
    N_("Edit #{id}"),
    # import.js
    N_("Rows checked so far: {n}"),
    N_("{n} rows imported from {file} ({new} new, {updated} updated)."),
    N_("about {n} s"),
    N_("about {n} min"),
    N_("about {n} h"),
    N_("The import stopped."),
    N_(
        "Rows with errors: {n}. Nothing can be imported yet: fix them in the file and "
        "upload it again, or change the mapping."
    ),
    N_("Rows to write: {n}, all of them or none."),
    N_("The file changes nothing: every row is already there as it is."),
    N_("{done} of {total} ({percent}%)"),
    N_("{n} rows/s"),
    N_("Choose a CSV or XLSX file first."),
    N_("Uploading {name}…"),
    N_("The file is larger than this server accepts."),
    N_("The upload failed ({status}). Try again."),
    N_("The upload did not reach the server. Check the connection and try again."),
    N_("The check could not start ({status})."),
    N_("The import could not start ({status})."),
    # live.js
    N_("1 new change: "),
    N_("{n} new changes: "),
    N_("refresh"),
    N_("reload"),
    N_("reload (your unsaved edits will be lost)"),
    N_("back to the list"),
    N_("{name} just deleted this record: "),
    N_("{name} just changed this record: "),
    N_("Live updates were interrupted; changes may have been missed: "),
    N_("Live updates were interrupted; this record may have changed: "),
    N_("{name} (editing)"),
    N_("Also on this record: {names}"),
    N_("Live updates: {detail}"),
    N_("Your session has ended. Sign in again to see live changes."),
    N_("Live updates stopped: {reason}."),
    N_("refused by the server"),
    N_("Live updates paused: reconnecting…"),
    # palette.js
    N_("Go to or search"),
    N_("Go to a page or search records"),
    N_("Go to… or search records"),
    N_("Results"),
    N_("↑ ↓ to move · Enter to open · Esc to close · ? for shortcuts"),
    N_("The pages could not be loaded. Try again."),
    N_("All {model} matching “{term}”"),
    N_("1 result"),
    N_("{n} results"),
    N_("Type {n} characters or more to search records."),
    N_("Nothing matches."),
    N_("The search failed. Try again."),
    N_("Search this list"),
    N_("Next / previous row of a list"),
    N_("Open the focused row"),
    N_("Edit the focused row"),
    N_("Create a record (where you may)"),
    N_("Show these shortcuts"),
    N_("Keyboard shortcuts"),
    N_("The single keys work when no text field has the focus."),
    # saved_views.js
    N_("Saved views"),
    N_("No saved views yet"),
    N_("shared with you"),
    N_("shared with {names}"),
    N_("Save current view…"),
    N_("Rename or share “{name}”…"),
    N_("Delete “{name}”"),
    N_("Plain list (forget my columns)"),
    N_("You hold no role to share with."),
    N_("The dialog could not be opened; reload the page and try again."),
    N_("Edit view"),
    N_("Save view"),
    N_("Default for {role}"),
    N_("Not saved."),
    N_("Delete the view “{name}”?"),
    # theme.js
    N_("Theme: {name}"),
    N_("Theme saved: {name}."),
)
"""Every text a script writes on a page, in English: the keys of `window.appWords`."""


def translated(code: str) -> dict[str, str]:
    """`WORDS` in language `code`, those that differ from the English."""
    catalogue = i18n.translations.get(code)
    if catalogue is None or code == DEFAULT:
        return {}
    pairs = ((word, catalogue.gettext(word)) for word in WORDS)
    return {word: text for word, text in pairs if text != word}


@cache
def words_script(code: str) -> tuple[str, str]:
    """The script of language `code`'s words, and its digest (the catalogues are loaded
    once, at start: fixed for the process)."""
    table = json.dumps(translated(code), ensure_ascii=False, separators=(",", ":"))
    text = f"window.appWords={table};\n"
    return text, hashlib.sha256(text.encode()).hexdigest()[:12]


def install(env: Environment, route: str) -> None:
    """Give `env`'s templates `words_script_url()`: the URL of the request's language's
    words script, under the route named `route`."""

    @pass_context
    def words_script_url(context: Context) -> str:
        code = parse_locale(i18n.get_locale()) or DEFAULT
        path = context["request"].url_for(route).path
        return f"{path}?l={code}&v={words_script(code)[1]}"

    env.globals["words_script_url"] = words_script_url


def words_response_parts(language: str | None, version: str | None) -> tuple[str, str]:
    """The words script a URL asks for (`l`, `v`), and its Cache-Control: kept for good
    under its current version, asked again under any other."""
    text, digest = words_script(parse_locale(language) or DEFAULT)
    current = version == digest
    return text, "public, max-age=31536000, immutable" if current else "no-cache"
