#!/usr/bin/env bash
# Audits the pinned dependencies (constraints.txt) for known vulnerabilities with pip-audit and the OSV database.
# Exit status 1 when a pinned version has a known vulnerability (each is listed with the versions that fix it);
# 0 with one "audit skipped: ..." line when the vulnerability data cannot be had (no network, as in CI here), so
# that an offline run does not fail. scripts/test.sh runs it before the tests.
#   NEWSBOT_AUDIT_IGNORE="GHSA-xxxx PYSEC-yyyy"  vulnerabilities judged not to apply (say why in the commit)
#   NEWSBOT_AUDIT_SERVICE=pypi                   PyPI's JSON API instead of OSV (api.osv.dev)
set -uo pipefail
cd "$(dirname "$0")/.."
if [ ! -x .venv/bin/pip-audit ]; then
  echo "audit skipped: pip-audit is not installed (scripts/install.sh test)"
  exit 0
fi
service="${NEWSBOT_AUDIT_SERVICE:-osv}"
ignore=()
for id in ${NEWSBOT_AUDIT_IGNORE:-}; do ignore+=(--ignore-vuln "$id"); done
report="$(mktemp)"
log="$(mktemp)"
trap 'rm -f "$report" "$log"' EXIT
# --no-deps --disable-pip: audit exactly the pins, without building an environment (every pin is listed).
.venv/bin/pip-audit -r constraints.txt --no-deps --disable-pip --progress-spinner off --timeout 15 \
  --vulnerability-service "$service" --format json --output "$report" "${ignore[@]}" 2>"$log"
status=$?
exec .venv/bin/python - "$report" "$log" "$status" "$service" <<'EOF'
"""Turn pip-audit's JSON and exit status into one verdict line (and the findings)."""
import json
import sys
from pathlib import Path

report, log, status, service = Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
errors = log.read_text(errors="replace")
unreachable = ("ConnectionError", "NameResolutionError", "Max retries exceeded", "Timeout", "timed out", "ServiceError")
try:
    data = json.loads(report.read_text() or "null")
except ValueError:
    data = None
if not data:
    if any(marker in errors for marker in unreachable):
        last = next((line for line in reversed(errors.splitlines()) if line.strip()), "no answer")
        reason = last.split(": ", 1)[-1]  # without the exception's class
        print(f"audit skipped: data source unreachable ({service}: {reason[:160]}{'...' if len(reason) > 160 else ''})")
        sys.exit(0)
    print(f"audit failed to run (exit status {status}):\n{errors[-2000:]}", file=sys.stderr)
    sys.exit(2)
packages = data["dependencies"]
audited = [p for p in packages if "skip_reason" not in p]
if not audited:  # e.g. a mirror of PyPI that serves packages but not the JSON API: nothing was checked
    reason = packages[0]["skip_reason"] if packages else "nothing to audit"
    print(f"audit skipped: data source unreachable ({service} knows none of the {len(packages)} pins: {reason})")
    sys.exit(0)
found = [(p, v) for p in audited for v in p.get("vulns", [])]
for package, vuln in found:
    fixed = ", ".join(vuln.get("fix_versions") or []) or "no fixed version yet"
    print(f"VULNERABLE {package['name']} {package['version']}: {vuln['id']} (fixed in: {fixed})")
skipped = len(packages) - len(audited)
note = f"; {skipped} not found by {service}" if skipped else ""
if found:
    print(f"audit: {len(found)} known vulnerabilities in {len(audited)} audited pins{note}", file=sys.stderr)
    sys.exit(1)
print(f"audit: no known vulnerabilities in {len(audited)} pins ({service}){note}")
EOF
