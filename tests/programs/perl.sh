#!/bin/sh
# perl.sh - TAP test: perl runs a script of hashes, regular expressions,
# sorting, string building and splitting (deterministic: fixed seed, fixed
# hash seed, sorted keys) with glibc's malloc and under libbuddymalloc.
# See lib.sh.

. "${top_srcdir:-.}/tests/programs/lib.sh"
prog_init perl
need perl perl

cat >"$work/workload.pl" <<'PERL'
use strict;
use warnings;

srand(4242);
my @words = map { join '', map { chr(97 + int(rand(26))) } 1 .. 1 + int(rand(12)) } 1 .. 200_000;

# Hashes: counts, nested structures, deletion.
my %count;
$count{$_}++ for @words;
my $distinct = keys %count;
my %by_len;
push @{ $by_len{length $_} }, $_ for keys %count;
delete $count{$_} for grep { length($_) > 10 } keys %count;
printf "distinct %d, lengths %d, kept %d\n", $distinct, scalar(keys %by_len),
	scalar(keys %count);

# Regular expressions: captures, substitutions, split.
my $text = join ' ', @words;
my $vowels = () = $text =~ /[aeiou]/g;
(my $squeezed = $text) =~ s/([a-z])\1+/$1/g;
my @pairs = $text =~ /\b([a-z]{3})([a-z]{3})\b/g;
my @fields = split /[aeiou]+/, $text;
printf "vowels %d, squeezed %d, pairs %d, fields %d\n", $vowels, length $squeezed, scalar @pairs, scalar @fields;

# Sorting: by several keys, numeric and string.
my @records = map { [ $words[$_], ($_ * 2654435761) % 1000, $_ ] } 0 .. $#words;
my @sorted = sort { $a->[1] <=> $b->[1] or $a->[0] cmp $b->[0] or $a->[2] <=> $b->[2] } @records;
print join(' ', map { "$_->[0]:$_->[1]" } @sorted[0 .. 4, -5 .. -1]), "\n";

# String building and a big join, sprintf, reverse, uc.
my $big = '';
$big .= sprintf("%05d:%s;", $_, uc reverse $words[$_]) for 0 .. 50_000;
my %letters;
$letters{$_}++ for split //, substr($big, 0, 500_000);
print join(',', map { "$_=$letters{$_}" } sort keys %letters), "\n";
printf "big %d\n", length $big;

# Arrays grown and shrunk; references kept and dropped.
my @stack;
for my $i (1 .. 300_000) {
	push @stack, [ $i, "x" x ($i % 100) ];
	splice(@stack, 0, 1000) if @stack > 20_000;
}
printf "stack %d, last %d\n", scalar @stack, $stack[-1][0];
PERL

plan 3
run_both workload perl "$work/workload.pl"
check_both workload "perl hashes, regexes, sort"
finish
