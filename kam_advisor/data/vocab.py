"""The closed vocabularies every layer shares: answer statuses, their labels and orders, severities.

One place, so that a status or severity is spelled, labelled and ordered the same everywhere.
"""

from __future__ import annotations

DONE, PARTIAL, NOT_STARTED, NA, DONT_KNOW, UNANSWERED = (
    "done", "partial", "not_started", "na", "dont_know", "unanswered")

# statuses an answer may give (unanswered is the absence of an answer)
STATUSES = (DONE, PARTIAL, NOT_STARTED, NA, DONT_KNOW)
# statuses that say how far an action has got ("known"); na and the unknown say nothing of progress
KNOWN = (DONE, PARTIAL, NOT_STARTED)
# statuses that count as answered for coverage (na is an answer: the action does not apply)
ANSWERED = KNOWN + (NA,)
# statuses that leave an action's progress unknown
UNKNOWN = (DONT_KNOW, UNANSWERED)
# every status a checklist action can have in a result
ALL = STATUSES + (UNANSWERED,)
# progress levels, for conditions and for combining respondents (lowest wins)
LEVELS = {NOT_STARTED: 0, PARTIAL: 1, DONE: 2}
# answers a question may offer besides its own values
SPECIAL = (DONT_KNOW, NA)

ALIASES = {"not started": NOT_STARTED, "not-started": NOT_STARTED, "n/a": NA, "not applicable": NA,
           "not_applicable": NA, "don't know": DONT_KNOW, "dont know": DONT_KNOW, "unknown": DONT_KNOW,
           "don_t_know": DONT_KNOW}

# lower case, as typed at a prompt or written in a template comment
LABELS = {DONE: "done", PARTIAL: "partial", NOT_STARTED: "not started", NA: "not applicable",
          DONT_KNOW: "don't know", UNANSWERED: "not answered"}
# capitalised, as a client reads them in a report
TITLES = {DONE: "Done", PARTIAL: "Partly done", NOT_STARTED: "Not started", NA: "Not applicable",
          DONT_KNOW: "Don't know", UNANSWERED: "Not answered"}

# open actions: finish what is started before starting what is not, then the unknown
OPEN_ORDER = (PARTIAL, NOT_STARTED, DONT_KNOW, UNANSWERED)

SEVERITIES = ("high", "medium", "low")
SEVERITY_ORDER = {s: n for n, s in enumerate(SEVERITIES)}
PRIORITIES = SEVERITIES
PRIORITY_ORDER = SEVERITY_ORDER


def normalise_status(value) -> str | None:
    """A status name from what a person wrote ("Not started", "n/a", ...), or None."""
    if not isinstance(value, str):
        return None
    text = value.strip().lower()
    text = ALIASES.get(text, text)
    return text if text in STATUSES else None
