"""The web questionnaire (``kam-advisor serve``): respondents answer in a browser; the consultant
follows the answers, sees the combined result and gets the report. See :mod:`kam_advisor.web.app`."""
