#!/bin/sh
# git.sh - TAP test: git builds a repository in a temporary directory (init,
# 25 commits of generated files, a branch and a merge), then reads it back
# (log --stat, diff, blame, gc, fsck, archive), with glibc's malloc and
# under libbuddymalloc. Names, e-mails and dates are fixed, so commit ids
# and every line of output are the same in both runs. See lib.sh.

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

plan 3
run_both workload sh "$work/workload.sh"
check_both workload "git init/commit/merge/log/gc"
finish
