#!/usr/bin/env bash
# The monthly run: build the warehouse from the input folder, write the month's reports in
# English and Chinese and the marketing lists, then check the alerts. Meant for cron or a
# systemd timer (see docs/report.md, "Every month, on a schedule").
#
#   scripts/monthly-run.sh INPUT_DIR OUTPUT_DIR
#
# Every step's output goes to OUTPUT_DIR/run.log. The script stops at the first step that
# fails and exits with its code, so cron mails (or the timer's unit fails) and the previous
# warehouse, reports and lists stay as they were. When everything ran, it exits with the
# alerts' code: 0 nothing to act on, 3 a notable change for the worse, 4 a data check failed.
set -uo pipefail

if [ $# -ne 2 ]; then
    echo "usage: $0 INPUT_DIR OUTPUT_DIR" >&2
    exit 2
fi
input="$1"
out="$2"
cli="${RETAIL_TIERS:-retail-tiers}"
mkdir -p "$out/lists" || exit 1
log="$out/run.log"

step() {
    echo "== $(date '+%Y-%m-%d %H:%M:%S') retail-tiers $*" >>"$log"
    "$cli" "$@" >>"$log" 2>&1
    local code=$?
    if [ "$code" -ne 0 ]; then
        echo "monthly run: 'retail-tiers $*' failed (exit $code); see $log" >&2
        exit "$code"
    fi
}

step build --input "$input"
step report --out "$out"
step report --lang zh --out "$out"
step export --segment watchlist --out "$out/lists/watchlist.csv"
step export --segment at_risk --out "$out/lists/at_risk.csv"
step export --segment champions --out "$out/lists/champions.csv"

echo "== $(date '+%Y-%m-%d %H:%M:%S') retail-tiers alerts" >>"$log"
"$cli" alerts | tee -a "$log"
code=${PIPESTATUS[0]}
if [ "$code" -ne 0 ]; then
    echo "monthly run: alerts exit $code (3: a notable change for the worse, 4: a data check failed)" >&2
fi
exit "$code"
