#!/usr/bin/env perl
# Turn "<speaker> <utt-id> <utt-id> ..." lines into sorted "<utt-id> <speaker>" lines.
#
#   utils/spk2utt_to_utt2spk.pl data/train/spk2utt > data/train/utt2spk
use strict;
use warnings;

my @pairs;
while (my $line = <>) {
    my ($speaker, @utts) = split(' ', $line);
    next unless defined $speaker;
    die "spk2utt_to_utt2spk.pl: $ARGV line $.: speaker '$speaker' has no utterances\n" unless @utts;
    push @pairs, map { [$_, $speaker] } @utts;
}
print "$_->[0] $_->[1]\n" for sort { $a->[0] cmp $b->[0] } @pairs;
