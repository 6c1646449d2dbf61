"""The questionnaire model: a questionnaire's sections, typed questions, choices and mappings.

Plain frozen dataclasses, built by :mod:`kam_advisor.answers.loader` from a
``questionnaires/<id>.yaml`` file. A :class:`Question` also knows its own answer scale
(levels, ``dont_know`` / ``na``, the operand its conditions compare against).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

from kam_advisor.answers import conditions
from kam_advisor.data.vocab import LEVELS as STATUS_LEVELS, SPECIAL, STATUSES

TYPES = ("status", "single_choice", "multi_choice", "yes_no", "scale", "number", "text")


@dataclass(frozen=True)
class Choice:
    value: str
    label: str
    help: str | None = None


@dataclass(frozen=True)
class Target:
    """One ``maps_to`` entry: what the answer evidences and how."""

    kind: str  # items, consideration or fact
    ids: tuple[str, ...]
    status: Mapping[Any, str | None] | None = None
    value: Mapping[Any, Any] | None = None
    if_selected: str | None = None
    line: int | None = None


@dataclass(frozen=True)
class Question:
    id: str
    type: str
    text: str
    help: str
    source: str
    section: str
    line: int
    guidance: str | None = None
    required: bool = False
    allow_na: bool = False
    note: bool = False
    choices: tuple[Choice, ...] = ()
    ordered: bool = False
    scale_min: int = 1
    scale_max: int = 5
    labels: Mapping[int, str] = field(default_factory=dict)
    integer: bool = False
    unit: str | None = None
    validation: Mapping[str, Any] = field(default_factory=dict)
    when: Any = None
    maps_to: tuple[Target, ...] = ()
    key_lines: Mapping[str, int] = field(default_factory=dict, compare=False, repr=False)

    def line_of(self, key: str) -> int:
        return self.key_lines.get(key, self.line)

    @property
    def choice_values(self) -> tuple[str, ...]:
        return tuple(c.value for c in self.choices)

    @property
    def has_levels(self) -> bool:
        """Whether answers are levels on one scale (perception gaps and median combination)."""
        return self.type in ("status", "scale") or (self.type == "single_choice" and self.ordered)

    def level(self, value: Any) -> int | None:
        """The answer's level on the question's own scale, or None (special or no level)."""
        if value is None or value in SPECIAL:
            return None
        if self.type == "status":
            return STATUS_LEVELS.get(value)
        if self.type == "scale":
            return value
        if self.type == "single_choice" and self.ordered:
            return self.choice_values.index(value)
        if self.type == "yes_no":
            return 1 if value == "yes" else 0
        return None

    def from_level(self, level: int) -> Any:
        if self.type == "status":
            return next(s for s, n in STATUS_LEVELS.items() if n == level)
        if self.type == "single_choice":
            return self.choice_values[level]
        return level

    def offers(self, special: str) -> bool:
        """Whether ``dont_know`` / ``na`` is an acceptable answer here."""
        if special == "na":
            return self.type == "status" or self.allow_na
        return not self.required

    def operand(self) -> conditions.Operand:
        values: tuple | None = None
        if self.type == "status":
            values = STATUSES
        elif self.type in ("single_choice", "multi_choice"):
            values = self.choice_values
        elif self.type == "yes_no":
            values = ("yes", "no")
        elif self.type == "scale":
            values = tuple(range(self.scale_min, self.scale_max + 1))
        return conditions.Operand(self.type, values, ordered=self.type in ("status", "scale", "number"))


@dataclass(frozen=True)
class Section:
    id: str
    title: str
    intro: str | None
    when: Any
    questions: tuple[str, ...]
    line: int


@dataclass(frozen=True)
class Questionnaire:
    id: str
    version: str
    audience: str
    title: str
    intro: str
    minutes: int
    sections: tuple[Section, ...]
    questions: Mapping[str, Question]  # in order
    path: str
    keyed_by: str | None = None
    id_line: int = 1
    produces: str = "programme"  # the kind of result its answers give (which pipeline assesses them)

    def __len__(self) -> int:
        return len(self.questions)

    def section(self, section_id: str) -> Section:
        return next(s for s in self.sections if s.id == section_id)
