" Vim filetype plugin
" Language:	autopilot policy language (.apr)

if exists('b:did_ftplugin')
  finish
endif
let b:did_ftplugin = 1

setlocal commentstring=#\ %s
setlocal comments=:#
setlocal formatoptions-=t formatoptions+=croql
setlocal suffixesadd=.apr

let b:undo_ftplugin = 'setlocal commentstring< comments< formatoptions< suffixesadd<'

" `autopilot fmt` indents with two spaces; set g:apr_recommended_style = 0 to keep your own.
if get(g:, 'apr_recommended_style', 1)
  setlocal expandtab shiftwidth=2 softtabstop=2
  let b:undo_ftplugin .= ' expandtab< shiftwidth< softtabstop<'
endif
