#!/usr/bin/env bash
# make demo: the main job on bundled data. Hide five pendigits classes, fit
# PBN on the training split (estimating how many classes were hidden), predict
# the test split, then score the discovered classes.
set -euo pipefail
bin=${1:-bin/ncd}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
echo "== ncd fit: pendigits, classes 0,3,5,6,7 hidden, k estimated"
"$bin" fit --config configs/pbn-pendigits.yaml --model "$out/pendigits.ncd" --out "$out/pred.csv"
echo
echo "== ncd eval: the hidden classes' test rows"
"$bin" eval --data "$out/pred.csv" --truth class --pred cluster
echo
echo "== ncd cluster --model: the saved model assigns the same rows again"
"$bin" cluster --model "$out/pendigits.ncd" --data testdata/pendigits_test.csv --out "$out/again.csv" --quiet
cmp -s "$out/pred.csv" "$out/again.csv" && echo "identical predictions from the saved model"
