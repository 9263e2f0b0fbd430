/*
 * Unit tests of lib/whois/unit.c: /proc/PID/cgroup files as systemd,
 * docker, podman, containerd, CRI-O and kubelet lay them out, garbage,
 * and sk_unit_of against the fixture tree tests/fixtures/proc-cgroup
 * (run from the repository root, as tests/run does) and a temporary one.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "unit.h"

#define ROOT "tests/fixtures/proc-cgroup"

/* Container ids as runtimes make them, and the 12 digits shown. */
#define ID	 "ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb"
#define SHORT	 "ca978112ca1b"
#define ID2	 "3e23e8160039594a33894f6564e1b1348bbd7a0088d42c4acb73eeaed59c009d"
#define SHORT2	 "3e23e8160039"
#define NODE	 "545ea538461003efdc8c81c244531b003f6f26cfccf6c0073b3239fdedf49446"
#define POD	 "05b16a01-46c6-56dd-bd6e-c6dfb4a1427a"
#define POD_ESC	 "05b16a01_46c6_56dd_bd6e_c6dfb4a1427a" /* as kubelet's systemd driver names it */
#define POD_HASH "425c89ed5bb78a7623fae60fd8a6f648"	/* a static pod's uid */

/* The controllers of a cgroup v1 host, all at PATH, name=systemd first. */
#define V1(path)                                                                                   \
	"12:name=systemd:" path "\n11:pids:" path "\n10:memory:" path "\n9:cpu,cpuacct:" path      \
	"\n8:blkio:" path "\n7:devices:" path "\n6:freezer:" path "\n5:net_cls,net_prio:" path     \
	"\n4:perf_event:" path "\n3:hugetlb:" path "\n2:cpuset:" path "\n1:rdma:/\n"

/*
 * Whether text parses to kind with this label, and this hint for the user
 * alice. Says what it got when not.
 */
static bool parses(const char *text, enum sk_unit_kind kind, const char *label, const char *hint)
{
	struct sk_unit u;
	char l[SK_UNIT_LABEL_MAX], h[512];
	size_t ln, hn;

	if (sk_unit_parse(text, strlen(text), &u) < 0) {
		fprintf(stderr, "parse failed: %s\n", text);
		return false;
	}
	ln = sk_unit_label(&u, l, sizeof(l));
	hn = sk_unit_stop_hint(&u, "alice", h, sizeof(h));
	if (u.kind == kind && strcmp(l, label) == 0 && strcmp(h, hint) == 0 && ln == strlen(l) &&
	    hn == strlen(h) && u.restarts == (hn > 0))
		return true;
	fprintf(stderr, "got kind %d label '%s' hint '%s' for:\n%s\n", (int)u.kind, l, h, text);
	return false;
}

static void systemd_units(void)
{
	/* a cgroup v1 (hybrid) host like this one: name=systemd and the v2 line */
	CHECK(parses(V1("/system.slice/nginx.service") "0::/system.slice/nginx.service\n",
		     SK_UNIT_SYSTEM, "nginx.service", "systemctl stop nginx.service"));
	CHECK(parses("9:name=systemd:/\n8:pids:/\n4:memory:/\n0::/system.slice/sshd.service\n",
		     SK_UNIT_SYSTEM, "sshd.service", "systemctl stop sshd.service"));
	/* name=systemd before the v2 line, the first of each */
	CHECK(parses("0::/system.slice/b.service\n1:name=systemd:/system.slice/a.service\n"
		     "2:name=systemd:/system.slice/c.service\n",
		     SK_UNIT_SYSTEM, "a.service", "systemctl stop a.service"));
	CHECK(parses("0::/system.slice/a.service\n0::/system.slice/b.service\n", SK_UNIT_SYSTEM,
		     "a.service", "systemctl stop a.service"));
	/* pure v2, no trailing newline */
	CHECK(parses("0::/system.slice/postgresql@16-main.service", SK_UNIT_SYSTEM,
		     "postgresql@16-main.service", "systemctl stop postgresql@16-main.service"));
	CHECK(parses("0::/system.slice/system-getty.slice/getty@tty1.service\n", SK_UNIT_SYSTEM,
		     "getty@tty1.service", "systemctl stop getty@tty1.service"));
	CHECK(parses("0::/init.scope\n", SK_UNIT_SYSTEM, "init.scope", ""));
	CHECK(parses("0::/system.slice/docker.service\n", SK_UNIT_SYSTEM, "docker.service",
		     "systemctl stop docker.service"));
	/* sessions: scopes, nothing restarts them */
	CHECK(parses("0::/user.slice/user-1000.slice/session-3.scope\n", SK_UNIT_SYSTEM,
		     "session-3.scope", ""));
	CHECK(parses(V1("/user.slice/user-0.slice/session-c2.scope"), SK_UNIT_SYSTEM,
		     "session-c2.scope", ""));
	CHECK(
	    parses("0::/system.slice/run-r3b2c1.scope\n", SK_UNIT_SYSTEM, "run-r3b2c1.scope", ""));
	/* a Delegate=yes service's own sub-cgroups belong to it */
	CHECK(parses("0::/system.slice/foo.service/worker\n", SK_UNIT_SYSTEM, "foo.service",
		     "systemctl stop foo.service"));
	CHECK(parses("0::/system.slice/foo.service/a/b/c.scope\n", SK_UNIT_SYSTEM, "foo.service",
		     "systemctl stop foo.service"));
	/* a container's own systemd: the host's unit runs it */
	CHECK(parses("0::/machine.slice/systemd-nspawn@web.service/payload/system.slice/"
		     "nginx.service\n",
		     SK_UNIT_SYSTEM, "systemd-nspawn@web.service",
		     "systemctl stop systemd-nspawn@web.service"));
	CHECK(parses("0::/machine.slice/machine-web.scope/payload/system.slice/nginx.service\n",
		     SK_UNIT_SYSTEM, "machine-web.scope", ""));
	/* systemd's escapes: quoted in the hint, so that a shell keeps them */
	CHECK(parses("0::/system.slice/system-systemd\\x2dfsck.slice/"
		     "systemd-fsck@dev-disk-by\\x2duuid-1234.service\n",
		     SK_UNIT_SYSTEM, "systemd-fsck@dev-disk-by\\x2duuid-1234.service",
		     "systemctl stop 'systemd-fsck@dev-disk-by\\x2duuid-1234.service'"));
	/* units that are not services or scopes, slices alone */
	CHECK(parses("0::/system.slice/home.mount\n", SK_UNIT_NONE, "-", ""));
	CHECK(parses("0::/system.slice/cups.socket\n", SK_UNIT_NONE, "-", ""));
	CHECK(parses("0::/user.slice\n", SK_UNIT_NONE, "-", ""));
	CHECK(parses("0::/\n", SK_UNIT_NONE, "-", ""));
	/* a cgroup outside systemd's slices is not a unit */
	CHECK(parses("0::/mygroup/foo.service\n", SK_UNIT_NONE, "-", ""));
	/* seen from inside a cgroup namespace */
	CHECK(parses("0::/../../system.slice/cron.service\n", SK_UNIT_SYSTEM, "cron.service",
		     "systemctl stop cron.service"));
}

static void user_units(void)
{
	struct sk_unit u;
	const char *app =
	    "0::/user.slice/user-1000.slice/user@1000.service/app.slice/app.service\n";
	char h[128];

	CHECK(parses(app, SK_UNIT_USER, "user:app.service",
		     "systemctl --user -M alice@ stop app.service"));
	CHECK(sk_unit_parse(app, strlen(app), &u) == 0 && u.uid == 1000 && u.restarts);
	CHECK(sk_unit_stop_hint(&u, NULL, h, sizeof(h)) == 42 &&
	      strcmp(h, "systemctl --user -M 1000@ stop app.service") == 0);
	CHECK(sk_unit_stop_hint(&u, "", h, sizeof(h)) == 42);
	CHECK(sk_unit_stop_hint(&u, "a b", h, sizeof(h)) == 42); /* not put in a command */
	CHECK(sk_unit_stop_hint(&u, "x;rm", h, sizeof(h)) == 42);
	CHECK(sk_unit_stop_hint(&u, "svc-web_1.x", h, sizeof(h)) > 0 &&
	      strcmp(h, "systemctl --user -M svc-web_1.x@ stop app.service") == 0);
	CHECK(parses("0::/user.slice/user-1000.slice/user@1000.service/session.slice/"
		     "pipewire.service\n",
		     SK_UNIT_USER, "user:pipewire.service",
		     "systemctl --user -M alice@ stop pipewire.service"));
	CHECK(parses("0::/user.slice/user-1000.slice/user@1000.service/app.slice/"
		     "app-gnome-firefox-2345.scope\n",
		     SK_UNIT_USER, "user:app-gnome-firefox-2345.scope", ""));
	/* a user service's own sub-cgroups */
	CHECK(parses("0::/user.slice/user-1000.slice/user@1000.service/app.slice/web.service/x\n",
		     SK_UNIT_USER, "user:web.service",
		     "systemctl --user -M alice@ stop web.service"));
	/* the user manager itself: a system unit */
	CHECK(parses("0::/user.slice/user-1000.slice/user@1000.service/init.scope\n",
		     SK_UNIT_SYSTEM, "user@1000.service", "systemctl stop user@1000.service"));
	CHECK(sk_unit_parse("0::/user.slice/user-1000.slice/user@1000.service/init.scope", 59,
			    &u) == 0 &&
	      u.uid == 1000);
	CHECK(parses(V1("/user.slice/user-42.slice/user@42.service"), SK_UNIT_SYSTEM,
		     "user@42.service", "systemctl stop user@42.service"));
	/* init.scope elsewhere under the manager is a user unit like any */
	CHECK(parses("0::/user.slice/user-7.slice/user@7.service/app.slice/init.scope\n",
		     SK_UNIT_USER, "user:init.scope", ""));
	/* not a uid: just a service, with nothing looked up below it */
	CHECK(parses("0::/user.slice/user@4294967295.service/app.slice/a.service\n", SK_UNIT_SYSTEM,
		     "user@4294967295.service", "systemctl stop user@4294967295.service"));
	CHECK(parses("0::/user.slice/user@x.service/app.slice/a.service\n", SK_UNIT_SYSTEM,
		     "user@x.service", "systemctl stop user@x.service"));
}

static void docker(void)
{
	/* systemd driver, v2 and v1 */
	CHECK(parses("0::/system.slice/docker-" ID ".scope\n", SK_UNIT_DOCKER, "docker:" SHORT,
		     "docker stop " SHORT));
	CHECK(parses(V1("/system.slice/docker-" ID ".scope") "0::/system.slice/docker-" ID
							     ".scope\n",
		     SK_UNIT_DOCKER, "docker:" SHORT, "docker stop " SHORT));
	/* cgroupfs driver, v2 and v1 */
	CHECK(parses("0::/docker/" ID "\n", SK_UNIT_DOCKER, "docker:" SHORT, "docker stop " SHORT));
	CHECK(parses(V1("/docker/" ID) "0::/\n", SK_UNIT_DOCKER, "docker:" SHORT,
		     "docker stop " SHORT));
	/* only the controllers name it (a host without systemd, or name=systemd elsewhere) */
	CHECK(parses("9:name=systemd:/\n8:pids:/\n4:memory:/docker/" ID "\n0::/\n", SK_UNIT_DOCKER,
		     "docker:" SHORT, "docker stop " SHORT));
	CHECK(parses("13:name=openrc:/docker\n4:memory:/docker/" ID "\n", SK_UNIT_DOCKER,
		     "docker:" SHORT, "docker stop " SHORT));
	/* a container running systemd: its units are its business */
	CHECK(parses("0::/system.slice/docker-" ID ".scope/system.slice/nginx.service\n",
		     SK_UNIT_DOCKER, "docker:" SHORT, "docker stop " SHORT));
	/* rootless docker */
	CHECK(parses("0::/user.slice/user-1000.slice/user@1000.service/user.slice/docker-" ID
		     ".scope\n",
		     SK_UNIT_DOCKER, "docker:" SHORT, "docker stop " SHORT));
	/* docker in docker: the deepest */
	CHECK(parses("0::/docker/" ID2 "/docker/" ID "\n", SK_UNIT_DOCKER, "docker:" SHORT,
		     "docker stop " SHORT));
	/* not ids: upper case, short, long, a docker-named directory not under docker */
	CHECK(
	    parses("0::/docker/CA978112CA1BBDCAFAC231B39A23DC4DA786EFF8147C4E72B9807785AFEE48BB\n",
		   SK_UNIT_NONE, "-", ""));
	CHECK(parses("0::/docker/ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48b\n",
		     SK_UNIT_NONE, "-", ""));
	CHECK(parses("0::/docker/" ID "0\n", SK_UNIT_NONE, "-", ""));
	CHECK(parses("0::/dockers/" ID "\n", SK_UNIT_NONE, "-", ""));
	/* "docker-" and a bad id is only a scope */
	CHECK(parses("0::/system.slice/docker-ca978112.scope\n", SK_UNIT_SYSTEM,
		     "docker-ca978112.scope", ""));
}

static void podman(void)
{
	CHECK(parses("0::/machine.slice/libpod-" ID ".scope\n", SK_UNIT_PODMAN, "podman:" SHORT,
		     "podman stop " SHORT));
	CHECK(parses("0::/machine.slice/libpod-" ID ".scope/container\n", SK_UNIT_PODMAN,
		     "podman:" SHORT, "podman stop " SHORT));
	CHECK(parses(V1("/machine.slice/libpod-" ID ".scope"), SK_UNIT_PODMAN, "podman:" SHORT,
		     "podman stop " SHORT));
	/* in a pod */
	CHECK(parses("0::/machine.slice/machine-libpod_pod_" ID2 ".slice/libpod-" ID ".scope\n",
		     SK_UNIT_PODMAN, "podman:" SHORT, "podman stop " SHORT));
	/* cgroupfs driver */
	CHECK(parses(V1("/libpod_parent/libpod-" ID), SK_UNIT_PODMAN, "podman:" SHORT,
		     "podman stop " SHORT));
	CHECK(parses("0::/libpod_parent/libpod-" ID "\n", SK_UNIT_PODMAN, "podman:" SHORT,
		     "podman stop " SHORT));
	/* rootless, under the user's manager: podman's, not a user unit */
	CHECK(parses("0::/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-" ID
		     ".scope/container\n",
		     SK_UNIT_PODMAN, "podman:" SHORT, "podman stop " SHORT));
	CHECK(parses("0::/user.slice/user-1000.slice/user@1000.service/user.slice/"
		     "user-libpod_pod_" ID2 ".slice/libpod-" ID ".scope\n",
		     SK_UNIT_PODMAN, "podman:" SHORT, "podman stop " SHORT));
	/* conmon, the monitor, is no container */
	CHECK(parses("0::/machine.slice/libpod-conmon-" ID ".scope\n", SK_UNIT_SYSTEM,
		     "libpod-conmon-" ID ".scope", ""));
	CHECK(parses("0::/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-conmon-" ID
		     ".scope\n",
		     SK_UNIT_USER, "user:libpod-conmon-" ID ".scope", ""));
	/* quadlet (--cgroups=split): the service runs the container */
	CHECK(parses("0::/system.slice/web.service/libpod-payload-" ID "\n", SK_UNIT_SYSTEM,
		     "web.service", "systemctl stop web.service"));
	CHECK(parses("0::/user.slice/user-1000.slice/user@1000.service/app.slice/web.service/"
		     "libpod-payload-" ID "\n",
		     SK_UNIT_USER, "user:web.service",
		     "systemctl --user -M alice@ stop web.service"));
	/* libpod- without libpod_parent above is no container */
	CHECK(parses("0::/libpod-" ID "\n", SK_UNIT_NONE, "-", ""));
}

static void containerd(void)
{
	CHECK(parses("0::/system.slice/nerdctl-" ID ".scope\n", SK_UNIT_CONTAINERD,
		     "containerd:" SHORT, "nerdctl stop " SHORT));
	CHECK(parses("0::/user.slice/user-1000.slice/user@1000.service/user.slice/nerdctl-" ID
		     ".scope\n",
		     SK_UNIT_CONTAINERD, "containerd:" SHORT, "nerdctl stop " SHORT));
	/* containerd's cgroupfs default, /NAMESPACE/ID, for its own namespaces only */
	CHECK(parses(V1("/default/" ID), SK_UNIT_CONTAINERD, "containerd:" SHORT,
		     "nerdctl stop " SHORT));
	CHECK(parses("0::/default/" ID "\n", SK_UNIT_CONTAINERD, "containerd:" SHORT,
		     "nerdctl stop " SHORT));
	CHECK(parses("0::/k8s.io/" ID "\n", SK_UNIT_CONTAINERD, "containerd:" SHORT,
		     "nerdctl stop " SHORT));
	CHECK(parses("0::/buildkit/" ID "\n", SK_UNIT_NONE, "-", ""));
	CHECK(parses("0::/myns/" ID "\n", SK_UNIT_NONE, "-", ""));
	CHECK(parses("0::/" ID "\n", SK_UNIT_NONE, "-", ""));
	/* a CRI container outside kubepods */
	CHECK(parses("0::/system.slice/cri-containerd-" ID ".scope\n", SK_UNIT_CONTAINERD,
		     "containerd:" SHORT, "nerdctl stop " SHORT));
	/* the shims live in containerd's own service */
	CHECK(parses("0::/system.slice/containerd.service\n", SK_UNIT_SYSTEM, "containerd.service",
		     "systemctl stop containerd.service"));
}

#define KUBE_HINT "scale down or delete its workload (kubectl)"

static void kubepods(void)
{
	/* cgroupfs driver: burstable, besteffort, guaranteed */
	CHECK(parses(V1("/kubepods/burstable/pod" POD "/" ID), SK_UNIT_KUBEPODS, "kubepods:" SHORT,
		     KUBE_HINT));
	CHECK(parses("0::/kubepods/besteffort/pod" POD "/" ID "\n", SK_UNIT_KUBEPODS,
		     "kubepods:" SHORT, KUBE_HINT));
	CHECK(parses("0::/kubepods/pod" POD "/" ID "\n", SK_UNIT_KUBEPODS, "kubepods:" SHORT,
		     KUBE_HINT));
	CHECK(parses("0::/kubepods/burstable/pod" POD "/crio-" ID "\n", SK_UNIT_KUBEPODS,
		     "kubepods:" SHORT, KUBE_HINT));
	/* systemd driver: cri-containerd, crio, docker */
	CHECK(parses("0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" POD_ESC
		     ".slice/cri-containerd-" ID ".scope\n",
		     SK_UNIT_KUBEPODS, "kubepods:" SHORT, KUBE_HINT));
	CHECK(parses(V1("/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod" POD_ESC
			".slice/crio-" ID ".scope"),
		     SK_UNIT_KUBEPODS, "kubepods:" SHORT, KUBE_HINT));
	CHECK(parses("0::/kubepods.slice/kubepods-pod" POD_ESC ".slice/docker-" ID ".scope\n",
		     SK_UNIT_KUBEPODS, "kubepods:" SHORT, KUBE_HINT));
	/* CRI-O's monitor, a pod cgroup itself: only the pod is known */
	CHECK(parses("0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" POD_ESC
		     ".slice/crio-conmon-" ID ".scope\n",
		     SK_UNIT_KUBEPODS, "kubepods:pod" POD, KUBE_HINT));
	CHECK(parses(V1("/kubepods/burstable/pod" POD), SK_UNIT_KUBEPODS, "kubepods:pod" POD,
		     KUBE_HINT));
	CHECK(parses("0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" POD_HASH
		     ".slice\n",
		     SK_UNIT_KUBEPODS, "kubepods:pod" POD_HASH, KUBE_HINT));
	/* a crio scope wherever it is: CRI-O runs nothing but pods */
	CHECK(parses("0::/system.slice/crio-" ID ".scope\n", SK_UNIT_KUBEPODS, "kubepods:" SHORT,
		     KUBE_HINT));
	CHECK(parses("0::/system.slice/crio-conmon-" ID ".scope\n", SK_UNIT_SYSTEM,
		     "crio-conmon-" ID ".scope", ""));
	/* kind: kubelet's --cgroup-root inside a docker container */
	CHECK(parses("0::/system.slice/docker-" NODE ".scope/kubelet.slice/kubelet-kubepods.slice/"
		     "kubelet-kubepods-besteffort.slice/kubelet-kubepods-besteffort-pod" POD_ESC
		     ".slice/cri-containerd-" ID ".scope\n",
		     SK_UNIT_KUBEPODS, "kubepods:" SHORT, KUBE_HINT));
	CHECK(parses("0::/system.slice/docker-" NODE ".scope/kubelet.slice/kubelet-kubepods.slice/"
		     "kubelet-kubepods-besteffort.slice/kubelet-kubepods-besteffort-pod" POD_ESC
		     ".slice\n",
		     SK_UNIT_KUBEPODS, "kubepods:pod" POD, KUBE_HINT));
	CHECK(parses(V1("/docker/" NODE "/kubepods/burstable/pod" POD "/" ID), SK_UNIT_KUBEPODS,
		     "kubepods:" SHORT, KUBE_HINT));
	/* the kind node's own services: the node's container */
	CHECK(parses("0::/system.slice/docker-" NODE ".scope/system.slice/containerd.service\n",
		     SK_UNIT_DOCKER, "docker:545ea5384610", "docker stop 545ea5384610"));
	CHECK(parses("0::/system.slice/docker-" NODE
		     ".scope/kubelet.slice/kubelet-kubepods.slice\n",
		     SK_UNIT_DOCKER, "docker:545ea5384610", "docker stop 545ea5384610"));
	/* the QoS level alone, a pod with a bad uid, a bare id outside a pod */
	CHECK(parses("0::/kubepods/burstable\n", SK_UNIT_NONE, "-", ""));
	CHECK(parses("0::/kubepods/burstable/podXYZ\n", SK_UNIT_NONE, "-", ""));
	CHECK(parses("0::/kubepods/burstable/pod\n", SK_UNIT_NONE, "-", ""));
	CHECK(parses("0::/kubepods/burstable/" ID "\n", SK_UNIT_NONE, "-", ""));
	/* a pod directory outside kubepods means nothing */
	CHECK(parses("0::/pod" POD "/" ID "\n", SK_UNIT_NONE, "-", ""));
	/* the deepest container of the pod */
	CHECK(parses("0::/kubepods/pod" POD "/" ID2 "/" ID "\n", SK_UNIT_KUBEPODS,
		     "kubepods:" SHORT2, KUBE_HINT));
}

static void garbage(void)
{
	static const char nul[] = "0::/system.slice/ng\0inx.service\n";
	static const char nul_line[] = "1:cpu:\0/x\n0::/system.slice/a.service";
	struct sk_unit u;
	char name[300], text[400];
	size_t big = 200000, n;
	char *huge = malloc(big + 64);

	CHECK(parses("", SK_UNIT_NONE, "-", ""));
	CHECK(parses("\n\n\n", SK_UNIT_NONE, "-", ""));
	CHECK(parses("no colons at all", SK_UNIT_NONE, "-", ""));
	CHECK(parses("0:/system.slice/a.service\n", SK_UNIT_NONE, "-", ""));
	CHECK(parses("x:name=systemd:/system.slice/a.service\n", SK_UNIT_NONE, "-", ""));
	CHECK(parses("-1:name=systemd:/system.slice/a.service\n", SK_UNIT_NONE, "-", ""));
	CHECK(parses(":name=systemd:/system.slice/a.service\n", SK_UNIT_NONE, "-", ""));
	CHECK(parses("12345678901:name=systemd:/system.slice/a.service\n", SK_UNIT_NONE, "-", ""));
	CHECK(parses("1:name=systemd:system.slice/a.service\n", SK_UNIT_NONE, "-", ""));
	CHECK(parses("1:name=systemd:\n", SK_UNIT_NONE, "-", ""));
	CHECK(parses("1:name=systemdx:/system.slice/a.service\n", SK_UNIT_NONE, "-", ""));
	/* a colon in the path is part of it */
	CHECK(parses("0::/system.slice/a:b.service\n", SK_UNIT_SYSTEM, "a:b.service",
		     "systemctl stop a:b.service"));
	/* names systemd would refuse */
	CHECK(parses("0::/system.slice/ngïnx.service\n", SK_UNIT_NONE, "-", ""));
	CHECK(parses("0::/system.slice/a b.service\n", SK_UNIT_NONE, "-", ""));
	CHECK(parses("0::/system.slice/a\tb.service\n", SK_UNIT_NONE, "-", ""));
	CHECK(parses("0::/system.slice/.service\n", SK_UNIT_NONE, "-", ""));
	CHECK(parses("0::/system.slice/x.service\r\n", SK_UNIT_NONE, "-", ""));
	CHECK(sk_unit_parse(nul, sizeof(nul) - 1, &u) == 0 && u.kind == SK_UNIT_NONE);
	CHECK(sk_unit_parse(nul_line, sizeof(nul_line) - 1, &u) == 0 && u.kind == SK_UNIT_SYSTEM &&
	      strcmp(u.name, "a.service") == 0);
	/* 255 bytes is the longest name */
	memset(name, 'a', 247);
	memcpy(name + 247, ".service", 9);
	snprintf(text, sizeof(text), "0::/system.slice/%s\n", name);
	CHECK(sk_unit_parse(text, strlen(text), &u) == 0 && u.kind == SK_UNIT_SYSTEM &&
	      strlen(u.name) == 255 && strcmp(u.name, name) == 0);
	memset(name, 'a', 248);
	memcpy(name + 248, ".service", 9);
	snprintf(text, sizeof(text), "0::/system.slice/%s\n", name);
	CHECK(sk_unit_parse(text, strlen(text), &u) == 0 && u.kind == SK_UNIT_NONE);
	/* very long lines: thousands of slices, then a long component */
	if (huge) {
		n = 0;
		memcpy(huge, "0::", 3), n = 3;
		while (n + 8 < big)
			memcpy(huge + n, "/a.slice", 8), n += 8;
		memcpy(huge + n, "/deep.service", 13), n += 13;
		CHECK(sk_unit_parse(huge, n, &u) == 0 && strcmp(u.name, "deep.service") == 0);
		memset(huge + 3, 'x', big);
		huge[3] = '/';
		CHECK(sk_unit_parse(huge, big + 3, &u) == 0 && u.kind == SK_UNIT_NONE);
		free(huge);
	}
	/* the file of this machine's processes */
	CHECK(parses("9:name=systemd:/\n8:pids:/\n7:blkio:/\n6:freezer:/\n5:devices:/\n"
		     "4:memory:/process_api/49bf4abab1790d4c7a91b6d4d872452b\n3:cpuset:/\n"
		     "2:cpuacct:/\n1:cpu:/\n0::/\n",
		     SK_UNIT_NONE, "-", ""));
	/* bad arguments */
	errno = 0;
	CHECK(sk_unit_parse(NULL, 5, &u) < 0 && errno == EINVAL && u.kind == SK_UNIT_NONE);
	CHECK(sk_unit_parse("0::/", 4, NULL) < 0 && errno == EINVAL);
	CHECK(sk_unit_parse(NULL, 0, &u) == 0 && u.kind == SK_UNIT_NONE);
}

static void labels_and_hints(void)
{
	struct sk_unit u = {.kind = SK_UNIT_SYSTEM, .name = "nginx.service", .restarts = true};
	char buf[64] = "untouched";

	/* cut to fit, always NUL-terminated */
	CHECK(sk_unit_label(&u, buf, 8) == 7 && strcmp(buf, "nginx.s") == 0);
	CHECK(sk_unit_label(&u, buf, 1) == 0 && buf[0] == '\0');
	strcpy(buf, "untouched");
	CHECK(sk_unit_label(&u, buf, 0) == 0 && strcmp(buf, "untouched") == 0);
	CHECK(sk_unit_label(&u, NULL, 0) == 0);
	CHECK(sk_unit_stop_hint(&u, NULL, buf, 10) == 9 && strcmp(buf, "systemctl") == 0);
	CHECK(sk_unit_stop_hint(&u, NULL, buf, sizeof(buf)) == 28);
	/* a unit that does not restart, one with no name, one of no kind */
	u.restarts = false;
	strcpy(buf, "x");
	CHECK(sk_unit_stop_hint(&u, NULL, buf, sizeof(buf)) == 0 && buf[0] == '\0');
	u = (struct sk_unit){.kind = SK_UNIT_DOCKER, .restarts = true};
	CHECK(sk_unit_label(&u, buf, sizeof(buf)) == 1 && strcmp(buf, "-") == 0);
	CHECK(sk_unit_stop_hint(&u, NULL, buf, sizeof(buf)) == 0);
	u = (struct sk_unit){.kind = (enum sk_unit_kind)99, .name = "x", .restarts = true};
	CHECK(sk_unit_label(&u, buf, sizeof(buf)) == 1 && strcmp(buf, "-") == 0);
	CHECK(sk_unit_stop_hint(&u, NULL, buf, sizeof(buf)) == 0);
	CHECK(sk_unit_label(NULL, buf, sizeof(buf)) == 1 && strcmp(buf, "-") == 0);
	CHECK(sk_unit_stop_hint(NULL, NULL, buf, sizeof(buf)) == 0 && buf[0] == '\0');
	/* a name without its NUL is read no further than the array */
	memset(&u, 0, sizeof(u));
	u.kind = SK_UNIT_SYSTEM;
	memset(u.name, 'a', sizeof(u.name));
	{
		char big[SK_UNIT_LABEL_MAX];

		CHECK(sk_unit_label(&u, big, sizeof(big)) == sizeof(u.name));
	}
}

/* Writes root/PID/cgroup with len bytes of text. Returns 0 or -1. */
static int write_cgroup(const char *root, int pid, const char *text, size_t len)
{
	char path[512];
	int fd;
	bool ok;

	snprintf(path, sizeof(path), "%s/%d", root, pid);
	if (mkdir(path, 0755) < 0 && errno != EEXIST)
		return -1;
	snprintf(path, sizeof(path), "%s/%d/cgroup", root, pid);
	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)) < 0)
		return -1;
	ok = write(fd, text, len) == (ssize_t)len;
	return close(fd) == 0 && ok ? 0 : -1;
}

static void proc_tree(void)
{
	struct sk_unit u;
	char root[] = "/tmp/sockctl-unit-XXXXXX", path[512], *text;
	size_t len = 200000, n;

	/* the committed tree: a cgroup v1 host, a v2 one, no such PID */
	CHECK(sk_unit_of(ROOT, 1000, &u) == 0 && u.kind == SK_UNIT_SYSTEM &&
	      strcmp(u.name, "nginx.service") == 0 && u.restarts);
	CHECK(sk_unit_of(ROOT, 2000, &u) == 0 && u.kind == SK_UNIT_KUBEPODS &&
	      strcmp(u.name, SHORT) == 0);
	CHECK(sk_unit_of(ROOT, 3000, &u) == 0 && u.kind == SK_UNIT_USER && u.uid == 1000 &&
	      strcmp(u.name, "app.service") == 0);
	CHECK(sk_unit_of(ROOT, 4000, &u) == 0 && u.kind == SK_UNIT_NONE);
	errno = 0;
	CHECK(sk_unit_of(ROOT, 4242, &u) < 0 && errno == ENOENT && u.kind == SK_UNIT_NONE);
	CHECK(sk_unit_of("tests/fixtures/nosuch", 1, &u) < 0 && errno == ENOENT);
	CHECK(sk_unit_of(ROOT, 0, &u) < 0 && errno == EINVAL);
	CHECK(sk_unit_of(NULL, 1, &u) < 0 && errno == EINVAL);
	/* this very process, whatever its unit */
	CHECK(sk_unit_of("/proc", getpid(), &u) == 0);

	/* a temporary tree: an empty file, a long one, one past the limit */
	if (!mkdtemp(root) || !(text = malloc(2u << 20))) {
		CHECK(!"temporary tree");
		return;
	}
	CHECK(write_cgroup(root, 1, "", 0) == 0);
	CHECK(sk_unit_of(root, 1, &u) == 0 && u.kind == SK_UNIT_NONE);
	for (n = 0; n + 8 < len; n += 8)
		memcpy(text + n, "4:cpu:/\n", 8);
	n += (size_t)sprintf(text + n, "0::/docker/%s\n", ID);
	CHECK(write_cgroup(root, 2, text, n) == 0);
	CHECK(sk_unit_of(root, 2, &u) == 0 && u.kind == SK_UNIT_DOCKER &&
	      strcmp(u.name, SHORT) == 0);
	memset(text, '\n', 2u << 20);
	CHECK(write_cgroup(root, 3, text, 2u << 20) == 0);
	errno = 0;
	CHECK(sk_unit_of(root, 3, &u) < 0 && errno == EFBIG);
	/* a directory where the file should be */
	snprintf(path, sizeof(path), "%s/4", root);
	CHECK(mkdir(path, 0755) == 0);
	snprintf(path, sizeof(path), "%s/4/cgroup", root);
	CHECK(mkdir(path, 0755) == 0);
	CHECK(sk_unit_of(root, 4, &u) < 0 && errno == EISDIR);
	rmdir(path);
	snprintf(path, sizeof(path), "%s/4", root);
	rmdir(path);
	for (n = 1; n <= 3; n++) {
		snprintf(path, sizeof(path), "%s/%zu/cgroup", root, n);
		unlink(path);
		snprintf(path, sizeof(path), "%s/%zu", root, n);
		rmdir(path);
	}
	CHECK(rmdir(root) == 0);
	free(text);
}

int main(void)
{
	systemd_units();
	user_units();
	docker();
	podman();
	containerd();
	kubepods();
	garbage();
	labels_and_hints();
	proc_tree();
	return check_summary("unit");
}
