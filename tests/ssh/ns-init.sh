# Runs as root inside `unshare -m --propagation private` (started by
# sshh_ns_start in harness.sh): builds the private view of the system that
# the test sshd and its PAM and NSS modules see, then becomes the syslog
# sink that keeps the namespace alive.  Nothing here is visible outside the
# namespace: every change lands in an overlay whose upper layer, or in a
# bind mount whose source, is in the harness folder.
#
# usage: sh ns-init.sh HARNESS_DIR SYSLOG_SINK
set -eu
dir=$1
sink=$2

# overlay MOUNTPOINT NAME: the host's folder below, a private layer above.
overlay() {
	mkdir -p "$dir/ovl/$2/upper" "$dir/ovl/$2/work"
	mount -t overlay "orgauth-test-$2" \
		-o "lowerdir=$1,upperdir=$dir/ovl/$2/upper,workdir=$dir/ovl/$2/work" "$1"
}

# /dev: an overlay so that /dev/log can exist; the submounts it hides
# (pts for sessions with a terminal, shm) are bound back from the host's.
mkdir -p "$dir/ovl/hostdev"
mount --rbind /dev "$dir/ovl/hostdev"
overlay /dev dev
for sub in pts shm; do
	if mountpoint -q "$dir/ovl/hostdev/$sub"; then
		mount --rbind "$dir/ovl/hostdev/$sub" "/dev/$sub"
	fi
done
umount -l "$dir/ovl/hostdev"

# /etc: our nsswitch.conf, PAM services and /etc/orgauth.
overlay /etc etc
cp "$dir/nsswitch.conf" /etc/nsswitch.conf
mount --bind "$dir/pam.d" /etc/pam.d
mkdir -p /etc/orgauth
mount --bind "$dir/etc-orgauth" /etc/orgauth
# Stand-in users for developing the harness without the NSS module.
for db in passwd group; do
	if [ -s "$dir/$db.extra" ]; then
		cat "$dir/$db.extra" >>"/etc/$db"
	fi
done

# /var/lib/orgauth: the cache and the MFA store at their default paths.
overlay /var/lib varlib
mkdir -p /var/lib/orgauth
mount --bind "$dir/state" /var/lib/orgauth

# The NSS module where glibc's dlopen finds it: next to libc.
libdir=$(dirname "$(readlink -f "$(ldd /bin/sh | awk '/libc\.so/ { print $3 }')")")
if [ -f "$dir/libnss_orgauth.so.2" ]; then
	overlay "$libdir" lib
	cp "$dir/libnss_orgauth.so.2" "$libdir/libnss_orgauth.so.2"
fi

# sshd's privilege separation folder, utmp, and the login records it may
# write (wtmp, lastlog): all private.
mount -t tmpfs -o mode=0755 orgauth-test-run /run
mkdir -m 0755 /run/sshd
mount --bind "$dir/log" /var/log
mount --bind "$dir/home" /home

# Last, since every program started after it loads what it names: the
# ASan runtime in a sanitizer build (see harness.sh).
if [ -s "$dir/ld.so.preload" ]; then
	cp "$dir/ld.so.preload" /etc/ld.so.preload
fi
exec "$sink" /dev/log "$dir/syslog.log" "$dir/ns-ready"
