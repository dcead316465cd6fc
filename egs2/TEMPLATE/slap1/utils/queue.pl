#!/usr/bin/env perl
# Submit recipe jobs to a Grid Engine (SGE/UGE) cluster; options and behaviour in
# utils/submit_jobs.pl.
#
#   utils/queue.pl [--mem X] [--gpu N] [--num-threads N] [--num-nodes N] [VAR=START:END]
#       LOGFILE COMMAND...
use strict;
use warnings;
use FindBin;
exec($^X, "$FindBin::Bin/submit_jobs.pl", "--backend", "sge", @ARGV)
  or die "queue.pl: cannot run $FindBin::Bin/submit_jobs.pl: $!\n";
