#!/usr/bin/env python3
"""Checks syntax/apr.vim against the annotated samples of the VS Code grammar tests.

Every `^^^ scope` assertion in editors/vscode/tests/*.apr whose innermost scope has a Vim
counterpart (SCOPE_TO_GROUPS) is checked against the syntax group Vim reports at those
columns; `^^^ - scope` assertions check that Vim does not report that scope's groups.
So both grammars are held to one set of samples.

Usage: python3 editors/vim/test/check_syntax.py   (needs vim on PATH; exit 0 when all pass)
"""
import glob
import os
import re
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
VIM_DIR = os.path.dirname(HERE)
SAMPLES = os.path.join(VIM_DIR, '..', 'vscode', 'tests', '*.apr')

# innermost TextMate scope (exact, or prefix ending in '.') -> the Vim groups that may stand for it;
# '' is "no highlighting". Scopes not listed (punctuation, meta.*) are not checked.
SCOPE_TO_GROUPS = [
    ('keyword.control.', {'aprControl'}),
    ('keyword.other.clause.apr', {'aprClause'}),
    ('keyword.other.by.apr', {'aprBy'}),
    ('keyword.other.let.apr', {'aprDeclaration'}),
    ('keyword.other.metric.apr', {'aprDeclaration'}),
    ('keyword.other.policy.apr', {'aprDeclaration'}),
    ('keyword.other.test.apr', {'aprDeclaration', 'aprTestKeyword'}),
    ('keyword.operator.logical.apr', {'aprLogical'}),
    ('keyword.operator.in.apr', {'aprLogical'}),
    ('constant.language.boolean.', {'aprBoolean'}),
    ('constant.language.mode.apr', {'aprModeValue'}),
    ('constant.language.no-data.apr', {'aprNoDataValue'}),
    ('support.type.kind.apr', {'aprKind'}),
    ('support.type.primitive.apr', {'aprType'}),
    ('punctuation.separator.type.apr', {'aprTypeSep'}),
    ('variable.other.label.apr', {'aprLabel'}),
    ('variable.other.constant.apr', {'aprConstName'}),
    ('variable.other.apr', {''}),
    ('entity.name.function.policy.apr', {'aprPolicyName'}),
    ('entity.name.variable.metric.apr', {'aprMetricName'}),
    ('punctuation.accessor.apr', {'aprAccessor'}),
    ('variable.other.property.apr', {'aprProperty'}),
    ('support.function.action.apr', {'aprAction'}),
    ('support.function.builtin.apr', {'aprBuiltin'}),
    ('variable.parameter.apr', {'aprParam'}),
    ('keyword.operator.comparison.apr', {'aprOperator'}),
    ('keyword.operator.assignment.apr', {'aprOperator'}),
    ('keyword.operator.arithmetic.apr', {'aprOperator'}),
    ('keyword.operator.sign.apr', {'aprSign'}),
    ('constant.numeric.decimal.apr', {'aprNumber'}),
    ('keyword.other.unit.', {'aprUnit'}),
    ('invalid.illegal.unit.apr', {'aprBadUnit'}),
    ('string.quoted.double.apr', {'aprString', 'aprIndexString'}),
    ('punctuation.definition.string.', {'aprString', 'aprIndexString', 'aprPromqlDelim'}),
    ('constant.character.escape.apr', {'aprEscape'}),
    ('constant.character.escape.brace.apr', {'aprBraceEscape'}),
    ('invalid.illegal.unknown-escape.apr', {'aprBadEscape'}),
    ('punctuation.section.interpolation.', {'aprInterpolationDelim'}),
    ('comment.line.number-sign.apr', {'aprComment'}),
    ('punctuation.definition.comment.apr', {'aprComment'}),
    ('string.quoted.other.promql.apr', {'aprPromql', 'aprPromqlDelim'}),
    ('support.function.promql', {'aprPromqlFunction'}),
    ('support.function.aggregation.promql', {'aprPromqlAggregation'}),
    ('keyword.other.promql', {'aprPromqlKeyword'}),
    ('keyword.operator.logical.promql', {'aprPromqlLogical'}),
    ('keyword.operator.matcher.promql', {'aprPromqlOperator'}),
    ('keyword.operator.promql', {'aprPromqlOperator'}),
    ('keyword.operator.at.promql', {'aprPromqlOperator'}),
    ('variable.other.label.promql', {'aprPromqlLabel', 'aprPromqlMatcher'}),
    ('variable.other.metric.promql', {'aprPromql'}),
    ('string.quoted.double.promql', {'aprPromqlString'}),
    ('string.quoted.single.promql', {'aprPromqlString'}),
    ('constant.character.escape.promql', {'aprPromqlString'}),
    ('constant.numeric.duration.promql', {'aprPromqlDuration'}),
    ('constant.numeric.promql', {'aprPromqlNumber'}),
    ('constant.language.promql', {'aprPromqlNumber'}),
    ('comment.line.number-sign.promql', {'aprPromqlComment'}),
    ('punctuation.definition.comment.promql', {'aprPromqlComment'}),
]


def groups_for(scope):
    for key, groups in SCOPE_TO_GROUPS:
        if scope == key or (key.endswith('.') and scope.startswith(key)):
            return groups
    return None


ASSERT = re.compile(r'^#(\s*)(\^+|<(~*)(-+))\s*(.*)$')


def parse(path):
    """-> (source lines, [(source line index, first col, end col, required scopes, excluded scopes)])"""
    lines = open(path, encoding='utf-8').read().split('\n')
    source, checks = [], []
    for line in lines[1:]:
        if re.match(r'^#\s*(\^|<~*-)', line):
            if line.lstrip('#').lstrip().startswith('<'):
                m = re.match(r'^#\s*<(~*)(-+)\s*(.*)$', line)
                spans = [(len(m.group(1)), len(m.group(1)) + len(m.group(2)))]
                rest = m.group(3)
            else:
                spans = [(m.start(), m.end()) for m in re.finditer(r'\^+', line)]
                rest = line[spans[-1][1]:]
            required, _, excluded = rest.partition(' - ') if ' - ' in rest else (
                ('', '', rest.strip()[2:]) if rest.strip().startswith('- ') else (rest, '', ''))
            for a, b in spans:
                checks.append((len(source) - 1, a, b, required.split(), excluded.split()))
        else:
            source.append(line)
    return source, checks


def vim_groups(source):
    """-> {(line index, col): innermost syntax group name} for every character of source."""
    with tempfile.TemporaryDirectory() as tmp:
        src = os.path.join(tmp, 'sample.apr')
        out = os.path.join(tmp, 'groups.txt')
        with open(src, 'w', encoding='utf-8') as f:
            f.write('\n'.join(source) + '\n')
        script = os.path.join(tmp, 'dump.vim')
        with open(script, 'w') as f:
            f.write(f'''
set nocompatible
let &runtimepath = {VIM_DIR!r} . ',' . &runtimepath
filetype plugin on
syntax on
edit {src}
if &filetype !=# 'apr' || get(b:, 'current_syntax', '') !=# 'apr'
  call writefile(['FILETYPE ' . &filetype], {out!r})
  qa!
endif
let s:out = []
for s:l in range(1, line('$'))
  let s:text = getline(s:l)
  for s:c in range(1, len(s:text))
    call add(s:out, s:l . ' ' . s:c . ' ' . synIDattr(synID(s:l, s:c, 1), 'name'))
  endfor
endfor
call writefile(s:out, {out!r})
qa!
''')
        res = subprocess.run(['vim', '-Nu', 'NONE', '-i', 'NONE', '-es', '-S', script],
                             capture_output=True, text=True, timeout=120)
        if res.returncode != 0 or not os.path.exists(out):
            sys.exit(f'vim failed ({res.returncode}): {res.stdout}{res.stderr}')
        groups = {}
        for row in open(out).read().split('\n'):
            if row.startswith('FILETYPE'):
                sys.exit('ftdetect or syntax file not picked up: ' + row)
            if row:
                l, c, *name = row.split(' ')
                groups[(int(l) - 1, int(c) - 1)] = name[0] if name else ''
        return groups


def main():
    files = sorted(glob.glob(SAMPLES))
    if not files:
        sys.exit('no samples found at ' + SAMPLES)
    checked = failed = 0
    for path in files:
        source, checks = parse(path)
        groups = vim_groups(source)
        for line, a, b, required, excluded in checks:
            want = groups_for(required[-1]) if required else None
            unwanted = set()
            for scope in excluded:
                unwanted |= groups_for(scope) or set()
            unwanted.discard('')
            if want is None and not unwanted:
                continue
            checked += 1
            got = {groups.get((line, c), '') for c in range(a, b)}
            bad = (want is not None and not got <= want) or (got & unwanted)
            if bad:
                failed += 1
                print(f'{os.path.basename(path)}: {source[line]!r} cols {a}-{b}: vim has {sorted(got)}, '
                      f'want {sorted(want) if want else "-"}, not {sorted(unwanted) or "-"}')
    print(f'{checked - failed} passed, {failed} failed')
    sys.exit(1 if failed else 0)


if __name__ == '__main__':
    main()
