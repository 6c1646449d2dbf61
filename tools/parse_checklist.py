"""Parse the checklist seed into rows of (topic, [cellA..cellD]) for building knowledge/checklist/*.yaml.

Kept for reproducibility and used by a test to cross-check the knowledge base against the seed.
"""
import re
import sys
from pathlib import Path

STAGES = "ABCD"


def parse(path):
    """Return [(label, [actions_A, actions_B, actions_C, actions_D])] in seed order.

    A line starting with a TAB opens a new table cell; other lines continue the current cell.
    A cell whose text does not start with a bullet is a row label (stage header, dimension,
    area or topic); the cells after it alternate action cell / gap column.
    """
    text = Path(path).read_text(encoding="utf-8")
    rows = []
    cells = None
    for line in text.splitlines():
        if line.startswith("\t"):
            content = line[1:]
            stripped = content.strip()
            if stripped and not stripped.startswith("\u00b7"):
                cells = []
                rows.append((stripped, cells))
            elif cells is not None:
                cells.append(content)
        elif cells:
            cells[-1] += "\n" + line
    out = []
    for label, row_cells in rows:
        actions = []
        for cell in row_cells[0:8:2]:
            parts = [re.sub(r"\s+", " ", part).strip() for part in cell.split("\u00b7")]
            actions.append([part for part in parts if part])
        while len(actions) < 4:
            actions.append([])
        out.append((label, actions))
    return out


if __name__ == "__main__":
    for label, actions in parse(sys.argv[1]):
        print(repr(label), [len(a) for a in actions])
        for s, cell in zip(STAGES, actions):
            for a in cell:
                print("   ", s, a)
