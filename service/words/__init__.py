"""Every sentence a person reads, from one gettext catalogue: Chinese, with English on request.

People in Shaoxing's command centre read Chinese, so the sentences are written in Chinese where
they are used (the plan's own phrasing, next to the clause the code cites), marked for the
catalogue with ``_`` (and ``ngettext`` where English counts): ``_("{unit}确认任务：{duty}",
unit=…, duty=…)``; an error's detail with ``Said`` (service.errors), said when it is read.
``make words`` (tools/words.py) extracts them with Babel from the code and the templates and
brings ``locale/en/LC_MESSAGES/messages.po``, their English, in line.
A test fails when a sentence in the code has no English or the catalogue keeps one the code no
longer says.

The language is a context variable: ``use(locale)`` sets it for a request (the API's
Accept-Language, service.api.language), a rendering or a message; ``current()`` reads it. Each
surface picks its own default: pages, the timeline and messages speak Chinese unless asked,
problem+json speaks English unless asked (``negotiate``).

Parameters are named and filled after translation (``str.format``), so that a translation may
put them in its own order. Names, never codes: callers pass a unit's name, an HQ's name, a
duty's title (``Names``, service.words.timeline; the playbooks' are service.playbooks.names).
"""

from __future__ import annotations

import functools
import io
from contextvars import ContextVar
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Literal, get_args

from service.errors import CoordinatorError, Said
from service.plan.local_time import SHANGHAI

if TYPE_CHECKING:
    from gettext import NullTranslations

Locale = Literal["zh", "en"]
LOCALES: Final[tuple[Locale, ...]] = get_args(Locale)
DEFAULT: Final[Locale] = "zh"

HERE: Final = Path(__file__).parent
CATALOGUE_DIR: Final = HERE / "locale"
DOMAIN: Final = "messages"

_current: ContextVar[Locale] = ContextVar("words_locale", default=DEFAULT)


@functools.cache
def translations(locale: Locale) -> NullTranslations:
    """The catalogue for ``locale``: Chinese is the source language (the msgids themselves);
    English is read from its .po file and compiled in memory (no build step, no .mo in git).
    Babel is imported here, on the first English sentence: the command line's ``--help`` and
    Chinese need none of it."""
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po
    from babel.support import NullTranslations, Translations

    if locale == "zh":
        return NullTranslations()
    path = CATALOGUE_DIR / locale / "LC_MESSAGES" / f"{DOMAIN}.po"
    with path.open("rb") as po:
        catalogue = read_po(po, locale=locale, domain=DOMAIN)
    compiled = io.BytesIO()
    write_mo(compiled, catalogue)
    compiled.seek(0)
    return Translations(compiled, domain=DOMAIN)


def current() -> Locale:
    """The language of what is being said now."""
    return _current.get()


def use(locale: Locale) -> Using:
    """Say everything within in ``locale``."""
    return Using(locale)


class Using:
    """``use``'s context manager. A class rather than a generator's: every API request enters
    one, and a generator's context manager costs several times as much."""

    __slots__ = ("locale", "token")

    def __init__(self, locale: Locale) -> None:
        self.locale = locale

    def __enter__(self) -> None:
        self.token = _current.set(self.locale)

    def __exit__(self, *_exc: object) -> None:
        _current.reset(self.token)


def _(message: str, /, **params: Any) -> str:
    """``message`` in the current language, its ``{name}`` parameters filled."""
    locale = current()
    said = message if locale == "zh" else translations(locale).gettext(message)
    return said.format(**params) if params else said


def pgettext(context: str, message: str, /, **params: Any) -> str:
    """As ``_``, for a word whose English depends on where it stands (``context``): the same
    Chinese heads a column of the command line (``"表头"``: CODE, STATE) and labels a page."""
    locale = current()
    said = message if locale == "zh" else translations(locale).pgettext(context, message)
    return said.format(**params) if params else said


def ngettext(singular: str, plural: str, n: int, /, **params: Any) -> str:
    """As ``_``, choosing by ``n`` where the language counts (English); ``n`` is a parameter
    too. Chinese has one form: the msgids are the same sentence twice."""
    locale = current()
    said = singular if locale == "zh" else translations(locale).ngettext(singular, plural, n)
    return said.format(n=n, **params)


def detail_of(error: CoordinatorError) -> str:
    """An error's detail in the current language: its ``Said`` through the catalogue, else the
    plain text it was raised with."""
    said = error.said
    return say(said) if said is not None else error.detail


def say(said: Said) -> str:
    """A ``Said`` in the current language, the ``Said`` among its values too."""
    params = {k: say(v) if isinstance(v, Said) else v for k, v in said.params.items()}
    return _(said.template, **params)


def negotiate(header: str | None, default: Locale) -> Locale:
    """The language an ``Accept-Language`` header asks for among ours, else ``default``."""
    return preferred(header) or default


@functools.lru_cache(maxsize=256)
def preferred(header: str | None) -> Locale | None:
    """The first of our languages an ``Accept-Language`` header asks for (by its q-values), or
    None when it asks for none of them (or for any, ``*``). Kept per header: clients send the
    same few again and again, and each API request asks."""
    if not header:
        return None
    from babel import Locale as BabelLocale
    from babel import UnknownLocaleError

    wanted: list[tuple[float, str]] = []
    for part in header.split(","):
        tag, _sep, rest = part.strip().partition(";")
        quality = 1.0
        if rest.strip().startswith("q="):
            try:
                quality = float(rest.strip()[2:])
            except ValueError:
                continue
        if tag and quality > 0:
            wanted.append((quality, tag.strip()))
    for _quality, tag in sorted(wanted, key=lambda pair: -pair[0]):
        if tag == "*":
            return None
        try:
            language = BabelLocale.parse(tag, sep="-").language
        except (ValueError, UnknownLocaleError):
            continue
        for ours in LOCALES:
            if language == ours:
                return ours
    return None


def when(moment: datetime) -> str:
    """A moment as people read it: Beijing time to the minute (``2026-12-07 08:37``)."""
    return moment.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")


def last_day(moment: datetime) -> str:
    """The day a due time ends, in Beijing time (``2026-12-31``): a yearly standing task due at
    00:00 on 1 January is due by 31 December, and reads so."""
    return (moment - timedelta(microseconds=1)).astimezone(SHANGHAI).strftime("%Y-%m-%d")
