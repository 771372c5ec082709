"""A login session's device in words, such as "Chrome 131 on Linux", from its User-Agent.

ua-parser (the uap-core rules) reads the browser and the system; the device rules,
most of its cost, are not asked for. Each distinct string is read once per process, and
ua-parser (with its rules and YAML reader, 2 MB) is loaded by the first one: most server
processes never show a session's device.
"""

from __future__ import annotations

from functools import lru_cache

UNKNOWN = "Unknown device"
RAW_SHOWN = 60
"""Characters of an unrecognised User-Agent shown as its name (the whole is in the title)."""


@lru_cache(maxsize=1024)
def device_name(user_agent: str | None) -> str:
    """ "Chrome 131 on Linux", "Firefox 133 on Windows", "curl 8"; the string itself, cut
    short, when no rule knows it; "Unknown device" when there is none."""
    raw = (user_agent or "").strip()
    if not raw:
        return UNKNOWN
    from ua_parser import parse_os, parse_user_agent

    browser = parse_user_agent(raw)
    if browser is None or browser.family == "Other":
        return raw if len(raw) <= RAW_SHOWN else raw[: RAW_SHOWN - 1] + "…"
    name = f"{browser.family} {browser.major}" if browser.major else browser.family
    system = parse_os(raw)
    return f"{name} on {system.family}" if system and system.family != "Other" else name
