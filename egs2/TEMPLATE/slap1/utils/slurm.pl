#!/usr/bin/env perl
# Submit recipe jobs to a Slurm cluster; options and behaviour in utils/submit_jobs.pl.
#
#   utils/slurm.pl [--mem X] [--gpu N] [--num-threads N] [--num-nodes N] [VAR=START:END]
#       LOGFILE COMMAND...
use strict;
use warnings;
use FindBin;
exec($^X, "$FindBin::Bin/submit_jobs.pl", "--backend", "slurm", @ARGV)
  or die "slurm.pl: cannot run $FindBin::Bin/submit_jobs.pl: $!\n";
