// SPDX-License-Identifier: GPL-2.0
/*
 * mapuser: userspace side of lockhound's mmap-pileup sample (static binary).
 *
 *   mapuser DEVICE
 *
 * The process maps DEVICE (MAP_SHARED) and runs two extra threads:
 *   mapuser_fault  touches the mapping; the driver's fault handler never
 *                  returns (io_schedule) and the fault path keeps this
 *                  process's mmap_lock held for read.
 *   mapuser_mmap   then calls mmap(), which needs mmap_lock for write and
 *                  queues behind the stuck reader.
 * Sequencing is done by watching the threads' state in /proc (no sleeps
 * that guess), so the resulting queue order is always the same.
 *
 * After mapuser_mmap is queued nothing in this process may fault or grow
 * memory, so output goes through write(2) from stack buffers only, and
 * everything the main thread needs afterwards has been used once before.
 *
 * Lines printed (stdout):
 *   mapuser: PROC pid=P
 *   mapuser: THREAD role=fault|mmap pid=T tgid=P comm=C
 *   mapuser: WANT pid=T tgid=P comm=mapuser_mmap lock=mmap_lock mode=write
 *   mapuser: READY | mapuser: FAIL why=...
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static volatile unsigned char *devmap;
static int gate_fault[2], gate_mmap[2];
static volatile pid_t tid_fault, tid_mmap;

static void out(const char *fmt, ...)
{
	char line[200];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n > (int)sizeof(line) - 1)
		n = sizeof(line) - 1;
	if (n > 0 && write(1, line, n) != n)
		_exit(2);
}

static pid_t my_tid(void)
{
	return (pid_t)syscall(SYS_gettid);
}

static void nap_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

/* state letter of thread tid of this process, '?' if unreadable */
static char thread_state(pid_t tid)
{
	char path[64], buf[512], *p;
	int fd, n;

	snprintf(path, sizeof(path), "/proc/self/task/%d/stat", (int)tid);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return '?';
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return '?';
	buf[n] = 0;
	p = strrchr(buf, ')');
	return (p && p[1] == ' ') ? p[2] : '?';
}

/* wait (bounded) until thread tid sleeps uninterruptibly */
static int wait_for_d(pid_t tid, int max_ms)
{
	int t;

	for (t = 0; t < max_ms; t += 20) {
		if (thread_state(tid) == 'D')
			return 0;
		nap_ms(20);
	}
	return -1;
}

static void *fault_thread(void *unused)
{
	char c;

	(void)unused;
	prctl(PR_SET_NAME, "mapuser_fault");
	tid_fault = my_tid();
	if (read(gate_fault[0], &c, 1) != 1)
		return NULL;
	c = devmap[0];		/* never comes back */
	out("mapuser: FAIL why=fault_returned_%d\n", c);
	return NULL;
}

static void *mmap_thread(void *unused)
{
	char c;
	void *p;

	(void)unused;
	prctl(PR_SET_NAME, "mapuser_mmap");
	tid_mmap = my_tid();
	if (read(gate_mmap[0], &c, 1) != 1)
		return NULL;
	out("mapuser: WANT pid=%d tgid=%d comm=mapuser_mmap lock=mmap_lock mode=write\n",
	    (int)my_tid(), (int)getpid());
	p = mmap(NULL, 64 << 10, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	out("mapuser: FAIL why=mmap_returned_%p\n", p);
	return NULL;
}

int main(int argc, char **argv)
{
	pthread_t tf, tm;
	int fd, i;

	if (argc != 2) {
		out("usage: mapuser DEVICE\n");
		return 1;
	}
	fd = open(argv[1], O_RDWR);
	if (fd < 0) {
		out("mapuser: FAIL why=open_errno_%d\n", errno);
		return 1;
	}
	devmap = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0);
	if (devmap == MAP_FAILED) {
		out("mapuser: FAIL why=mmap_device_errno_%d\n", errno);
		return 1;
	}
	if (pipe(gate_fault) || pipe(gate_mmap))
		return 1;
	out("mapuser: PROC pid=%d\n", (int)getpid());
	/* both threads first: creating a thread needs mmap_lock itself */
	if (pthread_create(&tf, NULL, fault_thread, NULL) ||
	    pthread_create(&tm, NULL, mmap_thread, NULL)) {
		out("mapuser: FAIL why=pthread_create\n");
		return 1;
	}
	for (i = 0; i < 500 && (!tid_fault || !tid_mmap); i++)
		nap_ms(10);
	if (!tid_fault || !tid_mmap) {
		out("mapuser: FAIL why=threads_did_not_start\n");
		return 1;
	}
	out("mapuser: THREAD role=fault pid=%d tgid=%d comm=mapuser_fault\n",
	    (int)tid_fault, (int)getpid());
	out("mapuser: THREAD role=mmap pid=%d tgid=%d comm=mapuser_mmap\n",
	    (int)tid_mmap, (int)getpid());
	/* exercise the polling path once so its pages are present later */
	(void)thread_state(tid_mmap);
	(void)thread_state(tid_fault);

	if (write(gate_fault[1], "f", 1) != 1 || wait_for_d(tid_fault, 20000)) {
		out("mapuser: FAIL why=fault_thread_not_in_D\n");
		return 1;
	}
	if (write(gate_mmap[1], "m", 1) != 1 || wait_for_d(tid_mmap, 20000)) {
		out("mapuser: FAIL why=mmap_thread_not_in_D\n");
		return 1;
	}
	out("mapuser: READY\n");
	for (;;)
		pause();
}
