#!/usr/bin/env perl
# Turn "<utt-id> <speaker>" lines into "<speaker> <utt-id> <utt-id> ..." lines.
#
#   utils/utt2spk_to_spk2utt.pl data/train/utt2spk > data/train/spk2utt
#   ... | utils/utt2spk_to_spk2utt.pl > spk2utt          (reads stdin without a file)
#
# Speakers come out sorted byte-wise (as LC_ALL=C sort, what validate_data_dir.sh expects);
# each speaker's utterances keep their input order. A line without two fields is an error.
use strict;
use warnings;

my %utts_of;
while (my $line = <>) {
    my @fields = split(' ', $line);
    next unless @fields;
    die "utt2spk_to_spk2utt.pl: $ARGV line $.: expected '<utt-id> <speaker>', got '$line'"
      unless @fields == 2;
    push @{ $utts_of{$fields[1]} }, $fields[0];
}
for my $speaker (sort keys %utts_of) {
    print join(" ", $speaker, @{ $utts_of{$speaker} }), "\n";
}
