#!/usr/bin/perl
# hash_churn.pl - an allocation-heavy, deterministic perl workload for
# bench/programs.py: hashes of strings built and dropped, regex captures,
# sorting, and string growth. Prints digests only, never timings.
use strict;
use warnings;

my $scale = shift // 1;
my $x = 42;
sub rnd { $x = ($x * 1103515245 + 12345) % 2147483648; return $x; }

my $sum = 0;
for my $round (1 .. 25 * $scale) {
	my %h;
	for my $i (1 .. 60000) {
		my $k = sprintf("key%d-%d", rnd() % 50000, $round);
		$h{$k} .= "v" x (rnd() % 40);
	}
	my @keys = sort { length($h{$a}) <=> length($h{$b}) || $a cmp $b } keys %h;
	for my $k (@keys[0 .. 999]) {
		$sum += $1 if $k =~ /^key(\d+)-/;
	}
	my $text = join(",", map { "$_=$h{$_}" } @keys[0 .. 4999]);
	my @parts = split /,/, $text;
	$sum += scalar(@parts) + length($text) % 1000;
}
print "perl digest $sum\n";
