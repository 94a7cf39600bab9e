# man/toml2mdoc.awk: render an annotated example configuration (TOML with
# "# comments", e.g. examples/config/agent.toml) as the body of an mdoc
# page: one .Ss per [section], one .It per key with its default value and
# its comment.  Keys that are commented out ("# key = value") have no
# default; continuation comments belong to the key above; other comment
# lines in a section introduce the key that follows them.  Used by the
# Makefile to make mcp-agent.toml(5) from the example, so the page and the
# annotated example cannot say different things.

function esc(s) {
	gsub(/\\/, "\\e", s)
	return s
}
function line_out(s) {
	s = esc(s)
	if (s ~ /^[.']/)
		s = "\\&" s
	print s
}
function flush_prose() {
	if (prose != "") {
		line_out(prose)
		prose = ""
	}
}
function flush_default() {
	if (pending != "") {
		line_out(pending)
		pending = ""
	}
}
function close_list() {
	flush_default()
	if (inlist) {
		print ".El"
		inlist = 0
	}
}
function strip(s) {
	sub(/^[ \t]+/, "", s)
	sub(/[ \t]+$/, "", s)
	return s
}
# split "value   # comment" at the first " #" outside a string
function split_comment(s,    i, c, instr) {
	instr = 0
	for (i = 1; i <= length(s); i++) {
		c = substr(s, i, 1)
		if (c == "\"")
			instr = !instr
		else if (c == "#" && !instr) {
			comment = strip(substr(s, i + 1))
			return strip(substr(s, 1, i - 1))
		}
	}
	comment = ""
	return strip(s)
}

BEGIN { insection = 0; inlist = 0; prose = ""; pending = "" }

# a section header, possibly commented out: "[name]" or "# [name]"
/^(# )?\[[a-z_]+\]/ {
	s = $0
	optional = (s ~ /^# /)
	sub(/^# /, "", s)
	name = s
	sub(/\].*/, "]", name)
	rest = substr(s, length(name) + 1)
	split_comment(rest)
	close_list()
	print ".Ss " name
	if (optional)
		print "Optional section: absent by default."
	if (comment != "")
		line_out(comment)
	print ".Bl -tag -width Ds"
	inlist = 1
	insection = 1
	prose = ""
	next
}

!insection { next }

# a key, possibly commented out
/^(# )?[a-z_]+ *= / {
	s = $0
	optional = (s ~ /^# /)
	sub(/^# /, "", s)
	key = s
	sub(/ *=.*/, "", key)
	flush_default()
	value = split_comment(substr(s, index(s, "=") + 1))
	print ".It Ic " key
	if (comment != "")
		line_out(comment)
	pending = optional ? "(unset by default; example: " value ")" : "(default: " value ")"
	flush_prose()
	next
}

# a comment continuing the line above (indented)
/^[ \t]+#/ {
	s = $0
	sub(/^[ \t]+# ?/, "", s)
	if (s != "")
		line_out(s)
	next
}

# a comment line of its own: introduces what follows
/^#/ {
	s = $0
	sub(/^# ?/, "", s)
	prose = prose == "" ? s : prose " " s
	next
}

/^[ \t]*$/ { next }

END {
	close_list()
}
