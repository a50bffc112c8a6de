#!/usr/bin/python3
"""Prints the ```sh blocks of a Markdown file's section that contain a word.

usage: readme_block.py FILE "SECTION HEADING" WORD
  SECTION HEADING: the text after the #s (the section runs to the next
  heading of the same or a higher level); WORD: only blocks with a line that
  starts with it. Exit status 1 when there is none.
"""
import re
import sys

path, heading, word = sys.argv[1:4]
text = open(path, encoding="utf-8").read()
m = re.search(r"^(#+) %s\s*$" % re.escape(heading), text, re.M)
if not m:
    sys.exit("%s: no section %r" % (path, heading))
level = len(m.group(1))
end = re.search(r"^#{1,%d} " % level, text[m.end():], re.M)
section = text[m.end():m.end() + end.start()] if end else text[m.end():]
blocks = [b for b in re.findall(r"^```sh\n(.*?)^```", section, re.S | re.M)
          if re.search(r"^%s\b" % re.escape(word), b, re.M)]
if not blocks:
    sys.exit("%s: no sh block with %r in section %r" % (path, word, heading))
print("\n".join(blocks), end="")
