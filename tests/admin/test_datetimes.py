"""List cells format dates and times exactly as babel (and so starlette-admin) would."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from babel import dates
from starlette_admin.i18n import set_database_timezone

from admin_app.admin.datetimes import DateTimeText

# Every hour of the day (AM/PM, 12 o'clock), every month, one- and two-digit days,
# years that need padding, and a daylight-saving change in New York.
MOMENTS = [
    datetime(2024, 1, 1, tzinfo=UTC)
    + timedelta(days=31 * n + n % 7, hours=n, minutes=7 * n, seconds=n)
    for n in range(48)
] + [datetime(5, 3, 4, 0, 0, 9, tzinfo=UTC), datetime(2026, 3, 8, 6, 59, 59, tzinfo=UTC)]


@pytest.mark.parametrize("locale", ["en", "de", "fr", "ja", "ar", "hi", "pt_BR"])
@pytest.mark.parametrize("pattern", ["short", "medium", "long", "full", "yyyy-MM-dd HH:mm"])
@pytest.mark.parametrize("zone", ["UTC", "America/New_York", "Asia/Kolkata"])
def test_the_same_text_as_babel(locale, pattern, zone):
    set_database_timezone("UTC")
    tz = dates.get_timezone(zone)
    text = DateTimeText(pattern, precise=True, locale=locale, zone=tz)
    for moment in MOMENTS:
        expected = dates.format_datetime(moment, pattern, tz, locale)
        assert text(moment) == expected, (locale, pattern, zone, moment)


def test_naive_values_are_in_the_database_zone_and_fractions_can_be_dropped():
    set_database_timezone("UTC")
    kolkata = dates.get_timezone("Asia/Kolkata")
    naive = datetime(2026, 1, 1, 0, 7, 0, 900_000)
    for precise, shown in ((True, "05:37:00.900"), (False, "05:37:00.000")):
        text = DateTimeText("HH:mm:ss.SSS", precise=precise, locale="en", zone=kolkata)
        assert text(naive) == shown


def test_remembered_texts_are_bounded_and_stay_right():
    """One formatter lives in each kept page shell: what it remembers has a bound."""
    text = DateTimeText("medium", precise=False, locale="en", zone=UTC)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    for minute in range(3 * DateTimeText.MEMO_LIMIT):
        moment = start + timedelta(minutes=minute)
        assert text(moment) == text(moment) == text._format(moment)
        assert len(text.memo) <= DateTimeText.MEMO_LIMIT
    assert text(start) == "Jan 1, 2026, 12:00:00\u202fAM"
