" Vim syntax file
" Language:	autopilot policy language (.apr)
" Filenames:	*.apr
" Reference:	DESIGN.md section 2; the VS Code grammar in editors/vscode follows the same tokens.

if exists('b:current_syntax')
  finish
endif

let s:cpo_save = &cpo
set cpo&vim

syn case match
syn iskeyword @,48-57,_
syn sync minlines=200

" ---------------------------------------------------------------- comments
syn keyword aprTodo contained TODO FIXME XXX NOTE
syn match   aprComment /#.*$/ contains=aprTodo,@Spell

" ---------------------------------------------------------------- keywords
syn keyword aprControl     when for then
syn keyword aprClause      on where cooldown window at_most per
syn keyword aprClause      mode    nextgroup=aprModeValue   skipwhite
syn keyword aprClause      no_data nextgroup=aprNoDataValue skipwhite
syn keyword aprModeValue   contained enforce dry_run approve
syn keyword aprNoDataValue contained hold reset
syn keyword aprLogical     and or not in
syn keyword aprBoolean     true false
syn keyword aprKind        pvc pod deployment statefulset node namespace storageclass

" `by` is a match, not a keyword, so that the label list after it can start at the same place.
syn match   aprBy /\<by\>/

syn keyword aprDeclaration let    nextgroup=aprConstName  skipwhite
syn keyword aprDeclaration policy nextgroup=aprPolicyName skipwhite
syn keyword aprDeclaration metric test
syn match   aprConstName   contained /\<[a-z_][a-z0-9_]*\>/
syn match   aprPolicyName  contained /\<[a-z_][a-z0-9_]*\>/

" metric KIND.NAME : TYPE = `...` by (NS_LABEL, NAME_LABEL)
syn match   aprTypeSep     /:/ nextgroup=aprType skipwhite
syn keyword aprType        contained percent bytes duration number
syn region  aprByLabels    transparent matchgroup=aprBy start=/\<by\>\ze\s*(/ end=/)/ contains=aprLabel,aprComment
syn match   aprLabel       contained /\<[a-z_][a-z0-9_]*\>/

" ---------------------------------------------------------------- paths, calls, arguments
syn match   aprAccessor    /\./ nextgroup=aprProperty,aprMetricName
syn match   aprProperty    contained /[a-z_][a-z0-9_]*/
syn match   aprMetricName  contained /\%(\<metric\s\+[a-z_][a-z0-9_]*\.\)\@100<=[a-z_][a-z0-9_]*/

syn match   aprAction      /\<\%(resize\|set_class\|scale\|evict\|cordon\|annotate\|label\|event\|notify\)\ze\s*(/
syn match   aprBuiltin     /\<\%(min\|max\|abs\|clamp\|ceil\|floor\|round\|at_least\|bytes\|percent\|duration\|number\)\ze\s*(/
syn match   aprParam       /\<[a-z_][a-z0-9_]*\ze\s*=\%([=]\)\@!/

" ---------------------------------------------------------------- operators
syn match   aprOperator    /??\|[<>]=\=\|[=!]=\|[-+*\/=]/
syn match   aprSign        /\%([[:alnum:]_.)\]]\)\@1<![+-]\ze\d/

" ---------------------------------------------------------------- numbers and quantities
" 42, 3.5, 1_000; glued units: %, Ki Mi Gi Ti Pi Ei, k M G T P E, ms s m h d w,
" and compound durations (1h30m).
syn match   aprNumber      /\%([[:alnum:]_.]\)\@1<!\d[0-9_]*\%(\.\d[0-9_]*\)\=/ nextgroup=aprBadUnit,aprUnit
syn match   aprBadUnit     contained /[[:alnum:]_%.]\+/
syn match   aprUnit        contained /\%(\%(ms\|[smhdw]\)\%(\d[0-9_]*\%(ms\|[smhdw]\)\)\+\|%\|[KMGTPE]i\|ms\|[kMGTPE]\|[smhdw]\)\%([[:alnum:]_%.]\)\@!/

" ---------------------------------------------------------------- strings
syn region  aprString      start=/"/ skip=/\\\\\|\\"/ end=/"\|$/ contains=aprEscape,aprBadEscape,aprInterpolation,aprBraceEscape,@Spell
syn match   aprBadEscape   contained /\\./
syn match   aprEscape      contained /\\[\\"n]/
syn region  aprInterpolation contained oneline matchgroup=aprInterpolationDelim start=/{/ end=/}/ end=/"\@=/
      \ contains=aprKind,aprAccessor,aprInterpolationIndex
syn match   aprInterpolationIndex contained /\[\s*"\%([^"\\]\|\\.\)*"\s*\]/ contains=aprIndexString
syn match   aprIndexString contained /"\%([^"\\]\|\\.\)*"/
syn match   aprBraceEscape contained /{{\|}}/

" ---------------------------------------------------------------- PromQL in backticks
syn region  aprPromql      matchgroup=aprPromqlDelim start=/`/ end=/`/ contains=@aprPromqlItems
syn cluster aprPromqlItems contains=aprPromqlComment,aprPromqlString,aprPromqlFunction,aprPromqlAggregation,aprPromqlKeyword,aprPromqlLogical,aprPromqlGrouping,aprPromqlMatchers,aprPromqlDuration,aprPromqlNumber,aprPromqlOperator
syn match   aprPromqlComment contained /#[^`]*/
syn region  aprPromqlString  contained start=/"/ skip=/\\./ end=/"/ end=/`\@=/
syn region  aprPromqlString  contained start=/'/ skip=/\\./ end=/'/ end=/`\@=/
syn keyword aprPromqlKeyword contained offset bool
" a match, not keywords, so that aprPromqlGrouping below can start at the same place
syn match   aprPromqlKeyword contained /\<\%(by\|without\|on\|ignoring\|group_left\|group_right\)\>/
syn keyword aprPromqlLogical contained and or unless
syn match   aprPromqlAggregation contained /\<\%(sum\|min\|max\|avg\|group\|stddev\|stdvar\|count\|count_values\|bottomk\|topk\|quantile\|limitk\|limit_ratio\)\>\ze\s*\%((\|by\>\|without\>\)/
syn match   aprPromqlFunction contained /\<\%(abs\|absent\|absent_over_time\|acos\|acosh\|asin\|asinh\|atan\|atanh\|avg_over_time\|ceil\|changes\|clamp\|clamp_max\|clamp_min\|cos\|cosh\|count_over_time\|day_of_month\|day_of_week\|day_of_year\|days_in_month\|deg\|delta\|deriv\|double_exponential_smoothing\|exp\|floor\|histogram_avg\|histogram_count\|histogram_fraction\|histogram_quantile\|histogram_stddev\|histogram_stdvar\|histogram_sum\|holt_winters\|hour\|idelta\|increase\|info\|irate\|label_join\|label_replace\|last_over_time\|ln\|log10\|log2\|mad_over_time\|max_over_time\|min_over_time\|minute\|month\|pi\|predict_linear\|present_over_time\|quantile_over_time\|rad\|rate\|resets\|round\|scalar\|sgn\|sin\|sinh\|sort\|sort_by_label\|sort_by_label_desc\|sort_desc\|sqrt\|stddev_over_time\|stdvar_over_time\|sum_over_time\|tan\|tanh\|time\|timestamp\|vector\|year\)\ze\s*(/
syn region  aprPromqlGrouping contained transparent matchgroup=aprPromqlKeyword start=/\<\%(by\|without\|on\|ignoring\|group_left\|group_right\)\>\ze\s*(/ end=/)/ end=/`\@=/ contains=aprPromqlLabel
syn match   aprPromqlLabel   contained /\<[a-zA-Z_][a-zA-Z0-9_]*\>/
syn region  aprPromqlMatchers contained transparent start=/{/ end=/}/ end=/`\@=/ contains=aprPromqlMatcher,aprPromqlString,aprPromqlComment
syn match   aprPromqlMatcher contained /\<[a-zA-Z_][a-zA-Z0-9_]*\s*\%(=\~\|!\~\|!=\|=\)/ contains=aprPromqlOperator
syn match   aprPromqlDuration contained /\<\%(\d\+\%(ms\|[smhdwy]\)\)\+\>/
syn match   aprPromqlNumber  contained /\<\%(0[xX]\x\+\|\d\+\%(\.\d*\)\=\%([eE][+-]\=\d\+\)\=\|Inf\|NaN\)\>/
syn match   aprPromqlOperator contained /=\~\|!\~\|[=!<>]=\|[-+*\/%^<>=@]/

" ---------------------------------------------------------------- test blocks
" test "name" { ... }: object, series, expect, ... are keywords only inside one.
syn cluster aprTop contains=aprComment,aprControl,aprClause,aprLogical,aprBoolean,aprKind,aprBy,aprDeclaration,aprTypeSep,aprByLabels,aprAccessor,aprAction,aprBuiltin,aprParam,aprOperator,aprSign,aprNumber,aprString,aprPromql
syn match   aprBrace       /[{}]/
syn region  aprTestBlock   transparent matchgroup=aprBrace start=/\%(\<test\>\s*"\%([^"\\]\|\\.\)*"\s*\)\@200<={/ end=/}/ contains=@aprTop,aprTestKeyword,aprTestBraces
syn region  aprTestBraces  contained transparent matchgroup=aprBrace start=/{/ end=/}/ contains=@aprTop,aprTestKeyword,aprTestBraces
syn keyword aprTestKeyword contained object series expect at between action state approve decline restart set create delete step duration lookback

" ---------------------------------------------------------------- highlighting
highlight default link aprTodo               Todo
highlight default link aprComment            Comment
highlight default link aprControl            Conditional
highlight default link aprClause             Keyword
highlight default link aprBy                 Keyword
highlight default link aprDeclaration        Keyword
highlight default link aprTestKeyword        Keyword
highlight default link aprModeValue          Constant
highlight default link aprNoDataValue        Constant
highlight default link aprLogical            Operator
highlight default link aprBoolean            Boolean
highlight default link aprKind               Type
highlight default link aprType               Type
highlight default link aprTypeSep            Delimiter
highlight default link aprBrace              Delimiter
highlight default link aprLabel              Identifier
highlight default link aprConstName          Identifier
highlight default link aprPolicyName         Function
highlight default link aprMetricName         Function
highlight default link aprAccessor           Delimiter
highlight default link aprProperty           Identifier
highlight default link aprAction             Function
highlight default link aprBuiltin            Function
highlight default link aprParam              Special
highlight default link aprOperator           Operator
highlight default link aprSign               Operator
highlight default link aprNumber             Number
highlight default link aprUnit               Special
highlight default link aprBadUnit            Error
highlight default link aprString             String
highlight default link aprEscape             SpecialChar
highlight default link aprBraceEscape        SpecialChar
highlight default link aprBadEscape          Error
highlight default link aprInterpolationDelim Delimiter
highlight default link aprInterpolationIndex Delimiter
highlight default link aprIndexString        String
highlight default link aprPromql             String
highlight default link aprPromqlDelim        Delimiter
highlight default link aprPromqlComment      Comment
highlight default link aprPromqlString       String
highlight default link aprPromqlKeyword      Keyword
highlight default link aprPromqlLogical      Operator
highlight default link aprPromqlAggregation  Function
highlight default link aprPromqlFunction     Function
highlight default link aprPromqlLabel        Identifier
highlight default link aprPromqlMatcher      Identifier
highlight default link aprPromqlDuration     Number
highlight default link aprPromqlNumber       Number
highlight default link aprPromqlOperator     Operator

let b:current_syntax = 'apr'

let &cpo = s:cpo_save
unlet s:cpo_save
