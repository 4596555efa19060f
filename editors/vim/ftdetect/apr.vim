" autopilot policy files
au BufRead,BufNewFile *.apr set filetype=apr
