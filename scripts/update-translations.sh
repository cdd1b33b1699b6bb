#!/usr/bin/env bash
# Re-extract every user-visible string, merge the new ones into the Russian and Kazakh
# catalogues, compile them, and exit 1 (listing them) while any string is untranslated,
# fuzzy, or loses a %(name)s placeholder. Safe to run at any time: translations already
# made are kept, and nothing is rewritten when only the template's date would change.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-.venv/bin}
DIR=incidents/translations

pot=$(mktemp)
trap 'rm -f "$pot"' EXIT
"$BIN/pybabel" -q extract -F babel.cfg -k N_ -k lazy_gettext --no-location --sort-output \
  -o "$pot" .
without_date() { grep -v '^"POT-Creation-Date: ' "$1"; }
if ! cmp -s <(without_date "$pot") <(without_date "$DIR/messages.pot"); then
  cp "$pot" "$DIR/messages.pot"
fi
# No fuzzy matching: a guessed translation of a similar sentence is worse than none here.
"$BIN/pybabel" -q update -i "$DIR/messages.pot" -d "$DIR" --no-fuzzy-matching \
  --ignore-pot-creation-date
"$BIN/pybabel" -q compile -d "$DIR"

"$BIN/python" - "$DIR" <<'EOF'
import re
import sys
from pathlib import Path

from babel.messages.pofile import read_po

PLACEHOLDER = re.compile(r"%(?:\([^)]*\))?[-#0 +]*\d*(?:\.\d+)?[a-zA-Z%]")
problems = []
for po in sorted(Path(sys.argv[1]).glob("*/LC_MESSAGES/messages.po")):
    lang = po.parts[-3]
    with po.open("rb") as f:
        catalog = read_po(f)
    for message in catalog:
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        if message.fuzzy:
            problems.append(f"{lang}: fuzzy: {ids[0]!r}")
        elif not all(strings):
            problems.append(f"{lang}: untranslated: {ids[0]!r}")
        elif any(sorted(PLACEHOLDER.findall(s)) != sorted(PLACEHOLDER.findall(ids[-1]))
                 for s in strings):
            problems.append(f"{lang}: placeholders differ: {ids[0]!r}")
for line in problems:
    print(line, file=sys.stderr)
if problems:
    print(f"{len(problems)} catalogue entries need a translator "
          f"(edit {sys.argv[1]}/<lang>/LC_MESSAGES/messages.po).", file=sys.stderr)
    sys.exit(1)
print("ru and kk catalogues: every string translated.")
EOF
