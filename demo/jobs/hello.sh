#!/bin/bash
# A small batch job: submit it from the Jobs panel, or right-click it in the
# "Remote files" panel and choose "Submit as Job".
echo "Hello from job ${JOB_ID:-?} on $(hostname)"
for step in 1 2 3 4 5; do
  echo "step $step of 5"
  sleep 2
done
echo "done"
