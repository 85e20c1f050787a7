"""The method specifications in ``docs/methods/`` are what the code cites.

* No tracked file may point to material a user of the repository does not
  have (the private reference notes and paper copies beside a development
  checkout).  The optional real annotation files under ``../shared/data``
  that some tests read are the one allowed outside path.
* Every ``docs/methods/<page>.md#<anchor>`` pointer in code, configs and
  READMEs, and every link inside ``docs/methods``, must resolve to an
  existing page and heading (GitHub anchor rules).
"""
import re
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
METHODS = REPO / 'docs' / 'methods'

# Built from pieces so that this file does not match its own patterns.
_FORBIDDEN = [
    re.compile('upstream' + '_facts'),
    re.compile('framework' + '_notes'),
    re.compile(re.escape('../' + 'papers/')),
    re.compile(re.escape('../' + 'shared') + r'(?!/data\b)'),
    re.compile('shared' + r'/(?:reference|papers)\b'),
]
_POINTER = re.compile(r'docs/methods/([\w.-]+\.md)#([\w-]+)')
_MD_LINK = re.compile(r'\]\(([^)\s#]*)(?:#([^)\s]*))?\)')
_HEADING = re.compile(r'^(#{1,6})\s+(.*?)\s*#*\s*$')


def github_anchor(title: str) -> str:
    """GitHub's heading id: drop link targets and markup, lower-case, keep
    letters, digits, ``_``, ``-`` and spaces, then spaces -> ``-``."""
    text = re.sub(r'\[([^\]]*)\]\([^)]*\)', r'\1', title)
    text = text.strip().lower()
    text = re.sub(r'[^\w\- ]', '', text)
    return text.replace(' ', '-')


def heading_anchors(markdown: str) -> set:
    """All heading anchors of a markdown text (duplicates get ``-1``,
    ``-2``...; headings inside fenced code blocks are ignored)."""
    anchors, seen, fenced = set(), {}, False
    for line in markdown.splitlines():
        if line.lstrip().startswith(('```', '~~~')):
            fenced = not fenced
            continue
        match = None if fenced else _HEADING.match(line)
        if match is None:
            continue
        slug = github_anchor(match.group(2))
        count = seen.get(slug, 0)
        seen[slug] = count + 1
        anchors.add(slug if count == 0 else f'{slug}-{count}')
    return anchors


def find_forbidden(text: str) -> list:
    """``(line number, matched text)`` of every forbidden reference."""
    hits = []
    for lineno, line in enumerate(text.splitlines(), 1):
        for pattern in _FORBIDDEN:
            match = pattern.search(line)
            if match:
                hits.append((lineno, match.group(0)))
    return hits


def tracked_files() -> list:
    """Tracked files of the checkout (``git ls-files``); a tree walk when the
    checkout is not a git repository (e.g. an unpacked source archive)."""
    try:
        out = subprocess.run(['git', 'ls-files', '-z'], cwd=REPO,
                             capture_output=True, check=True).stdout
        names = [n for n in out.decode().split('\0') if n]
    except (OSError, subprocess.CalledProcessError):
        names = [
            str(p.relative_to(REPO)) for p in REPO.rglob('*')
            if p.is_file() and not any(
                part.startswith('.') or part in ('work_dirs', 'data')
                for part in p.relative_to(REPO).parts)
        ]
    assert names, f'no files found under {REPO}'
    return sorted(names)


def read_text(name: str):
    """The file's text, or None for binary / missing files."""
    path = REPO / name
    if not path.is_file():
        return None
    raw = path.read_bytes()
    if b'\0' in raw:
        return None
    try:
        return raw.decode('utf-8')
    except UnicodeDecodeError:
        return None


# ------------------------------------------------------------ the helpers


def test_github_anchor_rules():
    assert github_anchor('3. Hard belief') == '3-hard-belief'
    assert github_anchor('12. PIR-ITR as released') == '12-pir-itr-as-released'
    assert github_anchor('9. IS-GVFC (eq. 4-5)') == '9-is-gvfc-eq-4-5'
    assert github_anchor('`SoftBelief`: the [paper](x.md) reading') == \
        'softbelief-the-paper-reading'
    md = '# A\n## 1. Sources\n```\n## 2. Not a heading\n```\n## 1. Sources\n'
    assert heading_anchors(md) == {'a', '1-sources', '1-sources-1'}


def test_forbidden_patterns():
    assert find_forbidden('ok: ../shared/data/rsitmd') == []
    bad = ('see ' + 'upstream' + '_facts §1.4\n'
           'x\n'
           'read ' + '../../../' + 'shared' + '/reference/notes.md\n'
           '(' + '../' + 'papers/pir.md §IV)\n'
           '/work/' + 'shared' + '/papers/eklsr.md')
    lines = [line for line, _ in find_forbidden(bad)]
    assert lines == [1, 3, 3, 4, 5]


# ------------------------------------------------------- the repository


def test_no_reference_outside_the_repository():
    offenders = []
    for name in tracked_files():
        text = read_text(name)
        if text is None:
            continue
        offenders += [f'{name}:{line}: {hit}'
                      for line, hit in find_forbidden(text)]
    assert not offenders, (
        'these lines cite material that is not in the repository; point '
        'to docs/methods/<page>.md#<section> instead:\n' +
        '\n'.join(offenders))


def test_method_pages_exist():
    pages = sorted(p.name for p in METHODS.glob('*.md'))
    for page in ('pir.md', 'eklsr.md', 'vfe_tps.md', 'irra_clip.md'):
        assert page in pages
        assert len(heading_anchors((METHODS / page).read_text())) >= 5


def test_method_pointers_resolve():
    anchors = {p.name: heading_anchors(p.read_text())
               for p in METHODS.glob('*.md')}
    bad, found = [], 0
    for name in tracked_files():
        text = read_text(name)
        if text is None:
            continue
        for lineno, line in enumerate(text.splitlines(), 1):
            for page, anchor in _POINTER.findall(line):
                found += 1
                if page not in anchors:
                    bad.append(f'{name}:{lineno}: no page docs/methods/{page}')
                elif anchor not in anchors[page]:
                    bad.append(f'{name}:{lineno}: docs/methods/{page} has no '
                               f'section #{anchor}')
    assert found >= 40, f'only {found} pointers to docs/methods found'
    assert not bad, '\n'.join(bad)


@pytest.mark.parametrize(
    'page', sorted(p.name for p in METHODS.glob('*.md')))
def test_links_inside_method_pages(page):
    path = METHODS / page
    text = path.read_text()
    own = heading_anchors(text)
    bad = []
    for lineno, line in enumerate(text.splitlines(), 1):
        for target, anchor in _MD_LINK.findall(line):
            if re.match(r'[a-z]+://', target):
                continue
            dest = (path.parent / target).resolve() if target else path
            if not dest.is_file():
                bad.append(f'{page}:{lineno}: no file {target}')
                continue
            if anchor and dest.suffix == '.md':
                targets = own if dest == path else heading_anchors(
                    dest.read_text())
                if anchor not in targets:
                    bad.append(f'{page}:{lineno}: {target or page} has no '
                               f'section #{anchor}')
    assert not bad, '\n'.join(bad)
