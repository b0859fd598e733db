#!/usr/bin/env bash
# tests/integration/systemd_security.sh — the systemd units, checked offline:
# the exposure score of `systemd-analyze security --offline=true` against
# each unit's limit, the network lock-down of storaged/searchd, `systemd-analyze
# verify`, and what sysusers.d/tmpfiles.d create in a scratch root.
. "$(dirname "$0")/lib.sh"
cd "$(dirname "$0")/../.." || exit 1

UNITS="peernet-netd.service:1.5 peernet-storaged.service:0.5 peernet-searchd.service:0.5 peernet-apid.service:1.0"

if ! command -v systemd-analyze >/dev/null 2>&1; then
	for u in $UNITS; do
		t_skip "exposure_${u%%.service:*}" "systemd-analyze is not installed (apt-get install systemd)"
	done
	t_skip verify "systemd-analyze is not installed"
	exit 0
fi

# Unit copies with @BINDIR@ pointing at executables that exist: the real
# build if there is one, stand-ins otherwise (verify checks ExecStart=).
work=$(t_mkdir)
mkdir -p "$work/bin" "$work/units"
for b in peernet-netd peernet-storaged peernet-searchd peernet-apid peernetctl; do
	if [ -x "$BIN/$b" ]; then
		ln -s "$BIN/$b" "$work/bin/$b"
	else
		ln -s /bin/true "$work/bin/$b"
	fi
done
for f in systemd/*.service systemd/peernet.target; do
	sed "s|@S\\{0,1\\}BINDIR@|$work/bin|g" "$f" >"$work/units/$(basename "$f")"
done

# Does this systemd-analyze know --offline (systemd >= 250)?
probe=$(systemd-analyze security --offline=true \
    "$work/units/peernet-storaged.service" 2>&1)
if ! printf '%s\n' "$probe" | grep -q 'Overall exposure level'; then
	reason=$(printf '%s\n' "$probe" | head -n 1)
	for u in $UNITS; do
		t_skip "exposure_${u%%.service:*}" "systemd-analyze security --offline unsupported here: $reason"
	done
	offline=0
else
	offline=1
fi

le() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a + 0 <= b + 0) }'; }

if [ "$offline" -eq 1 ]; then
	for entry in $UNITS; do
		unit=${entry%%:*}
		limit=${entry##*:}
		name=${unit%.service}
		out=$(SYSTEMD_COLORS=0 systemd-analyze security --offline=true \
		    "$work/units/$unit" 2>&1)
		score=$(printf '%s\n' "$out" |
		    sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p')
		if [ -z "$score" ]; then
			t_fail "exposure_$name" "no score in: $(printf '%s' "$out" | tail -n 1)"
			continue
		fi
		echo "# $unit exposure $score (limit $limit)"
		if le "$score" "$limit"; then
			t_pass "exposure_$name"
		else
			t_fail "exposure_$name" "exposure $score > $limit; open items:"
			printf '%s\n' "$out" | grep '✗' | sed 's/^/#   /'
		fi
		case $name in
		peernet-storaged|peernet-searchd)
			# No network at all: both lines must be ticked.
			if printf '%s\n' "$out" | grep -q '^✓ PrivateNetwork=' &&
			    printf '%s\n' "$out" |
			    grep -q '^✓ RestrictAddressFamilies=~AF_(INET|INET6)'; then
				t_pass "no_network_$name"
			else
				t_fail "no_network_$name" "PrivateNetwork= or RestrictAddressFamilies= not satisfied"
			fi
			;;
		esac
	done
fi

# verify loads the units like systemd would, without a running manager.
# Unknown keys are only warnings there (exit 0): any line naming one of our
# units is a failure.
vout=$(cd "$work/units" && systemd-analyze verify --man=no \
    peernet-netd.service peernet-storaged.service peernet-searchd.service peernet-init.service peernet-apid.service \
    peernet.target 2>&1)
vrc=$?
if printf '%s\n' "$vout" | grep -qiE 'Failed to (initialize|create|set up) .*manager|Cannot (open|access) /(proc|sys)'; then
	t_skip verify "systemd-analyze verify cannot run in this container: $(printf '%s\n' "$vout" | head -n 1)"
elif [ "$vrc" -ne 0 ] || printf '%s\n' "$vout" | grep -q 'peernet'; then
	t_fail verify "exit $vrc: $(printf '%s\n' "$vout" | grep -m 3 . | tr '\n' ' ')"
else
	t_pass verify
fi

# sysusers.d and tmpfiles.d, applied to a scratch root.
root="$work/root"
mkdir -p "$root/etc" "$root/usr/lib/sysusers.d" "$root/usr/lib/tmpfiles.d"
cp systemd/peernet.sysusers.conf "$root/usr/lib/sysusers.d/peernet.conf"
cp systemd/peernet.tmpfiles.conf "$root/usr/lib/tmpfiles.d/peernet.conf"
for f in passwd group; do
	grep -v '^peernet:' "/etc/$f" >"$root/etc/$f" 2>/dev/null || : >"$root/etc/$f"
done
if ! command -v systemd-sysusers >/dev/null 2>&1; then
	t_skip sysusers "systemd-sysusers is not installed"
elif systemd-sysusers --root="$root" peernet.conf >/dev/null 2>&1 &&
    pw=$(grep '^peernet:' "$root/etc/passwd") &&
    grep -q '^peernet:' "$root/etc/group"; then
	IFS=: read -r _ _ uid gid _ home shell <<<"$pw"
	pgid=$(grep '^peernet:' "$root/etc/group" | cut -d: -f3)
	if [ "$uid" -gt 0 ] && [ "$uid" -lt 1000 ] && [ "$gid" = "$pgid" ] &&
	    [ "$home" = /var/lib/peernet ] && [ "$shell" = /usr/sbin/nologin ]; then
		t_pass sysusers
	else
		t_fail sysusers "unexpected passwd entry: $pw"
	fi
else
	t_fail sysusers "systemd-sysusers did not create user and group peernet"
fi
if ! command -v systemd-tmpfiles >/dev/null 2>&1; then
	t_skip tmpfiles "systemd-tmpfiles is not installed"
elif ! grep -q '^peernet:' "$root/etc/passwd"; then
	t_skip tmpfiles "needs the user from the sysusers case"
elif systemd-tmpfiles --root="$root" --create peernet.conf >/dev/null 2>&1; then
	m1=$(stat -c '%a' "$root/var/lib/peernet" 2>/dev/null)
	m2=$(stat -c '%a' "$root/var/lib/peernet/run" 2>/dev/null)
	if [ "$m1" = 750 ] && [ "$m2" = 750 ]; then
		t_pass tmpfiles
	else
		t_fail tmpfiles "modes $m1 and $m2, expected 750 and 750"
	fi
else
	t_fail tmpfiles "systemd-tmpfiles --create failed"
fi
exit 0
