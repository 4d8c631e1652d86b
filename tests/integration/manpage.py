#!/usr/bin/python3
"""`lrzoo --help`, the man pages and the docs agree (issue 24), so that none of them can drift:
  - every long option and every command of `lrzoo --help` is an item of man/lrzoo.1 (COMMANDS
    or OPTIONS) and is named in docs/*.md or README.md;
  - every long option man/lrzoo.1 names is one of --help's, apart from the few options of other
    programs it names on purpose (OTHER_PROGRAMS), and every command item is one of --help's;
  - the exit codes --help describes are exactly the items of EXIT STATUS, each with --help's
    meaning;
  - every switch of src/core/env_switches.c is an item of ENVIRONMENT;
  - SEE ALSO names lrzoo-report(1) and every docs/*.md page, where they are installed;
  - man/lrzoo-report.1 documents exactly the options of analysis/report.py (its --help), -o
    among them.
The pages are read as roff source, not rendered: rendering breaks and may hyphenate lines, and
would tie the test to one formatter."""
import glob
import os
import re
import subprocess
import sys

from lrzoo_test import LRZOO, SRC, check, verdict

MAN = os.path.join(SRC, "man", "lrzoo.1")
REPORT_MAN = os.path.join(SRC, "man", "lrzoo-report.1")
REPORT = os.path.join(SRC, "analysis", "report.py")
ENV_SWITCHES = os.path.join(SRC, "src", "core", "env_switches.c")
# Options of other programs that man/lrzoo.1 names, with whose they are: the only long options
# it may name that lrzoo --help does not have.
OTHER_PROGRAMS = {"--signal": "sbatch", "--requeue": "sbatch"}

LONG_OPTION = re.compile(r"(?<![\w-])--[a-z0-9]+(?:-[a-z0-9]+)*(?![\w-])")
ANY_OPTION = re.compile(r"(?<![\w-])--?[a-zA-Z0-9]+(?:-[a-zA-Z0-9]+)*(?![\w-])")


def read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


def plain(line):
    """One roff line as the text it shows: the macro name dropped, quotes and escapes resolved."""
    if line.startswith("."):
        parts = line.split(None, 1)
        line = parts[1] if len(parts) > 1 else ""
        line = line.replace('"', "")
    line = re.sub(r"\\f(\[[^]]*\]|\(..|.)", "", line)  # font changes
    line = line.replace("\\-", "-").replace("\\&", "").replace("\\%", "").replace("\\e", "\\")
    return re.sub(r"\\\(..", " ", line)  # special characters, such as \(mu


def man_sections(path):
    """{section name: [(tag, body)]} for each .SH, in order: the text before the first .TP is the
    item with tag None; after each .TP, its next line is the tag and what follows its body."""
    sections, items, name, expect_tag = {}, None, None, False
    for line in read(path).splitlines():
        if line.startswith('.\\"'):
            continue
        if line.startswith(".SH"):
            name = plain(line).strip()
            items = sections.setdefault(name, [[None, ""]])
            continue
        if items is None:
            continue
        if line.startswith(".TP"):
            expect_tag = True
            continue
        if expect_tag:
            items.append([plain(line).strip(), ""])
            expect_tag = False
            continue
        items[-1][1] += " " + plain(line)
    return {n: [(t, " ".join(b.split())) for t, b in its] for n, its in sections.items()}


def section_text(sections, name):
    return " ".join(f"{t or ''} {b}" for t, b in sections.get(name, []))


def tags(sections, *names):
    return [t for n in names for t, _ in sections.get(n, []) if t]


def names_in(text, word):
    return re.search(r"(?<![\w-])" + re.escape(word) + r"(?![\w-])", text) is not None


r = subprocess.run([LRZOO, "--help"], capture_output=True, text=True)
check(r.returncode == 0 and r.stdout, f"lrzoo --help exits 0 with the usage (got {r.returncode})")
help_text = r.stdout
help_options = sorted(set(LONG_OPTION.findall(help_text)))
help_commands = sorted(set(re.findall(r"^(?:usage:)?\s*lrzoo ([a-z]+)\b", help_text, re.M)))
check(len(help_options) >= 5, f"lrzoo --help names long options ({' '.join(help_options)})")
check(len(help_commands) >= 3, f"lrzoo --help names commands ({' '.join(help_commands)})")

man = man_sections(MAN)
for s in ("SYNOPSIS", "COMMANDS", "OPTIONS", "EXIT STATUS", "ENVIRONMENT", "FILES", "SEE ALSO"):
    check(s in man, f"man/lrzoo.1 has the section {s}")
man_all = " ".join(section_text(man, n) for n in man)
docs = {p: read(p) for p in sorted(glob.glob(os.path.join(SRC, "docs", "*.md")))}
docs[os.path.join(SRC, "README.md")] = read(os.path.join(SRC, "README.md"))
docs_text = "\n".join(docs.values())

# Help -> man page and docs.
item_tags = " ".join(tags(man, "COMMANDS", "OPTIONS"))
for opt in help_options:
    check(names_in(item_tags, opt),
          f"{opt} (lrzoo --help) is documented in man/lrzoo.1: an item of COMMANDS or OPTIONS")
    check(names_in(docs_text, opt), f"{opt} (lrzoo --help) is named in docs/*.md or README.md")
command_tags = [t.split()[0] for t in tags(man, "COMMANDS")]
for cmd in help_commands:
    check(cmd in command_tags, f"command {cmd} (lrzoo --help) is an item of man/lrzoo.1's COMMANDS")
    check(f"lrzoo {cmd}" in section_text(man, "SYNOPSIS"),
          f"command {cmd} (lrzoo --help) is in man/lrzoo.1's SYNOPSIS")
    check(names_in(docs_text, f"lrzoo {cmd}"), f"`lrzoo {cmd}` is named in docs/*.md or README.md")

# Man page -> help: nothing documented that the binary does not have.
for opt in sorted(set(LONG_OPTION.findall(man_all)) - set(help_options)):
    if opt in OTHER_PROGRAMS:
        print(f"note {opt}, named in man/lrzoo.1, is {OTHER_PROGRAMS[opt]}'s (OTHER_PROGRAMS)")
        continue
    check(False, f"{opt}, named in man/lrzoo.1, is an option of lrzoo --help (if it is another "
                 f"program's, add it to OTHER_PROGRAMS)")
for cmd in sorted(set(c for c in command_tags if not c.startswith("-")) - set(help_commands)):
    check(False, f"command {cmd}, an item of man/lrzoo.1's COMMANDS, is a command of lrzoo --help")

# Exit codes: "Exit codes: 0 done; 1 runtime failure; ...; 3 stopped by ... (...)." in --help.
m = re.search(r"Exit codes:(.*?)\.\s*$", help_text, re.S | re.M)
check(m is not None, "lrzoo --help has a sentence 'Exit codes: ...'")
help_codes = {}
for part in (m.group(1).split(";") if m else []):
    code = re.match(r"\s*(\d+)\s+(.*)", part, re.S)
    if code:
        meaning = re.split(r"[(,]", code.group(2))[0].split()[:3]
        help_codes[code.group(1)] = " ".join(meaning)
check({"0", "1", "2", "3"} <= set(help_codes),
      f"lrzoo --help describes exit codes 0, 1, 2 and 3 (got {help_codes})")
exit_items = {t: b for t, b in man.get("EXIT STATUS", []) if t}
for code, meaning in sorted(help_codes.items()):
    body = exit_items.get(code)
    check(body is not None,
          f"exit code {code} (lrzoo --help) is an item of man/lrzoo.1's EXIT STATUS")
    if body is not None:
        check(meaning.lower() in body.lower(),
              f"exit code {code} means '{meaning}' in man/lrzoo.1 as in lrzoo --help")
for code in sorted(set(exit_items) - set(help_codes)):
    check(False, f"exit code {code} of man/lrzoo.1's EXIT STATUS is described in lrzoo --help")

# Environment switches: the one list of them is src/core/env_switches.c.
switches = re.findall(r'\[LZ_ENV_\w+\]\s*=\s*\{\s*"(\w+)"', read(ENV_SWITCHES))
check(len(switches) >= 1, f"src/core/env_switches.c lists switches ({' '.join(switches)})")
env_tags = re.split(r"[\s,]+", " ".join(tags(man, "ENVIRONMENT")))
for name in switches:
    check(name in env_tags,
          f"{name} (src/core/env_switches.c) is an item of man/lrzoo.1's ENVIRONMENT")

# SEE ALSO: where the docs are installed, and the report's page.
see_also = section_text(man, "SEE ALSO")
check("lrzoo-report(1)" in see_also.replace(" ", ""),
      "man/lrzoo.1's SEE ALSO names lrzoo-report(1)")
check("share/doc/lrzoo/" in see_also, "man/lrzoo.1's SEE ALSO names share/doc/lrzoo/")
for page in docs:
    if page.endswith("README.md"):
        continue
    check(names_in(see_also, os.path.basename(page)),
          f"man/lrzoo.1's SEE ALSO names {os.path.basename(page)} (docs/)")
for page in sorted(set(re.findall(r"[\w-]+\.md", see_also))):
    check(os.path.exists(os.path.join(SRC, "docs", page)),
          f"{page}, named in man/lrzoo.1's SEE ALSO, is in docs/")

# man/lrzoo-report.1 against analysis/report.py's own --help.
r = subprocess.run([sys.executable, REPORT, "--help"], capture_output=True, text=True)
check(r.returncode == 0,
      f"analysis/report.py --help exits 0 (got {r.returncode}) {r.stderr.strip()}")
report_options = sorted(set(ANY_OPTION.findall(r.stdout)))
check("-o" in report_options, f"analysis/report.py accepts -o ({' '.join(report_options)})")
report_man = man_sections(REPORT_MAN)
report_tags = " ".join(tags(report_man, "OPTIONS"))
for opt in report_options:
    check(names_in(report_tags, opt),
          f"{opt} (analysis/report.py) is documented in man/lrzoo-report.1: an item of OPTIONS")
documented = set(ANY_OPTION.findall(report_tags + " " + section_text(report_man, "SYNOPSIS")))
for opt in sorted(documented - set(report_options)):
    check(False, f"{opt}, in man/lrzoo-report.1's SYNOPSIS or OPTIONS, is an option of "
                 f"analysis/report.py")

sys.exit(verdict())
