#!/bin/sh
# git.sh - TAP test: git builds a repository in a temporary directory (init,
# 25 commits of generated files, a branch and a merge), then reads it back
# (log --stat, diff, blame, gc, fsck, archive), with glibc's malloc and
# under libbuddymalloc. Names, e-mails and dates are fixed, so commit ids
# and every line of output are the same in both runs. Point 3 needs an exit
# report of git itself, not of the shell around it; point 4 shows that a
# git that escapes the preload fails that check. See lib.sh.

. "${top_srcdir:-.}/tests/programs/lib.sh"
prog_init git
need git git

cat >"$work/workload.sh" <<'SH'
set -e
GIT_AUTHOR_NAME="Buddy Tester"
GIT_AUTHOR_EMAIL=tester@example.invalid
GIT_COMMITTER_NAME=$GIT_AUTHOR_NAME
GIT_COMMITTER_EMAIL=$GIT_AUTHOR_EMAIL
export GIT_AUTHOR_NAME GIT_AUTHOR_EMAIL GIT_COMMITTER_NAME GIT_COMMITTER_EMAIL

at() {	# at N: the dates of the Nth commit
	GIT_AUTHOR_DATE="@$((1700000000 + $1 * 3600)) +0000"
	GIT_COMMITTER_DATE=$GIT_AUTHOR_DATE
	export GIT_AUTHOR_DATE GIT_COMMITTER_DATE
}

# write C: rewrite a fifth of the 40 files for commit C, deterministically.
write() {
	awk -v c="$1" 'BEGIN {
		for (f = 0; f < 40; f++) {
			if ((f * 7 + c) % 5 != 0 && c > 1)
				continue
			file = sprintf("src/file%02d.txt", f)
			n = 50 + (f * 37 + c * 11) % 150
			for (l = 0; l < n; l++)
				printf "line %d of file %d, commit %d: %s\n", l, f, c,
					substr("the quick brown fox jumps over the lazy dog", 1 + (l * c + f) % 30) > file
			close(file)
		}
	}'
}

git init -q -b main repo
cd repo
git config pack.threads 1	# deterministic packs
mkdir src
i=1
while [ $i -le 25 ]; do
	at $i
	write $i
	git add -A
	git commit -q -m "commit $i: rewrite a fifth of src/"
	i=$((i + 1))
done

at 26
git checkout -q -b topic HEAD~5
write 100
git add -A
git commit -q -m "topic: a diverging rewrite"
git checkout -q main
at 27
git merge -q --no-ff -X theirs -m "merge topic" topic

git log --graph --format='%h %an <%ae> %ad %s' --date=iso-strict | head -n 40
git log --stat --format='%H%n  %s' HEAD~10..HEAD
git rev-list --count HEAD
git diff --stat HEAD~10 HEAD
git diff HEAD~3 HEAD -- src/file07.txt | head -n 60
git blame -s src/file03.txt | head -n 30
git gc -q
git fsck --full --no-progress
git archive --format=tar HEAD | cksum
git cat-file -p HEAD
SH

plan 4
run_both workload sh "$work/workload.sh"
expect_served workload git
check_both workload "git init/commit/merge/log/gc"

# The check itself: a git behind a wrapper that drops LD_PRELOAD, first on
# PATH, in a workload where another process (cat) is served. Its point 3
# must say "not served" for git: a check that any report will do, or that
# finds the wrapper's, would pass it.
real_git=$(exe_of git)
mkdir "$work/wrapper"
printf '#!/bin/sh\nunset LD_PRELOAD\nexec %s "$@"\n' "$real_git" \
	>"$work/wrapper/git"
chmod +x "$work/wrapper/git"
: >"$work/wrapped.stdin"
run_one wrapped buddy env PATH="$work/wrapper:$PATH" \
	sh -c 'git init -q repo && git -C repo status | cat'
label="git behind a wrapper that unsets LD_PRELOAD: seen as not served"
if served_by "$work/wrapped.buddy.err" "$real_git"; then
	reporters "$work/wrapped.buddy.err" >"$work/diag"
	not_ok "$label" "$work/diag"
elif ! served_by "$work/wrapped.buddy.err" "$(exe_of cat)"; then
	tail -n 15 "$work/wrapped.buddy.err" >"$work/diag"
	not_ok "$label (cat not served either: the run did not work)" \
		"$work/diag"
else
	ok "$label"
fi
finish
