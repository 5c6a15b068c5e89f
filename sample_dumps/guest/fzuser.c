// SPDX-License-Identifier: GPL-2.0
/*
 * fzuser - userspace half of the frozen-fs sample scenario.
 *
 *   fzuser MOUNTPOINT
 *
 * Creates MOUNTPOINT/data and MOUNTPOINT/other, maps data MAP_SHARED and
 * reads its page, then freezes the filesystem (FIFREEZE, what
 * `fsfreeze --freeze` does) and builds the pile-up, each step only after
 * the previous task is asleep (state D):
 *
 *   fz_fault   (thread)  writes to the shared page: the write fault
 *                        (ext4_page_mkwrite -> sb_start_pagefault) sleeps on
 *                        sb_writers level SB_FREEZE_PAGEFAULT while the fault
 *                        path holds this process's mmap_lock for read (6.1)
 *   fz_munmap  (thread)  munmap() of an anonymous mapping: queued writer of
 *                        the mmap_lock
 *   fz_writer  (child)   write() to MOUNTPOINT/other: sleeps on sb_writers
 *                        level SB_FREEZE_WRITE
 *
 * Prints "fzuser: WANT/GOT ..." facts (same keys as the module's) and
 * "fzuser: READY tgid=N" (or "fzuser: FAIL why"); the main thread then
 * sleeps in pause().
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

/*
 * Once fz_fault sleeps, the process's mmap_lock is read-held: anything
 * that takes it for write (pthread_create's stack mmap, fork, malloc via
 * mmap/brk) would block the main thread too. So every thread and the
 * child exist before the fault, each waits on a pipe "gate", and the
 * main thread afterwards only uses read/write/open/nanosleep.
 */
static char *shared_page;
static void *anon_map;
static int gate_fault[2], gate_munmap[2], gate_writer[2];
static volatile pid_t fault_tid, munmap_tid;
static char other[256];

static void out(const char *fmt, ...)
{
	char line[256];
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

static pid_t my_tid(void) { return (pid_t)syscall(SYS_gettid); }

static void nap_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

static void fail(const char *why)
{
	out("fzuser: FAIL why=%s errno=%d\n", why, errno);
	_exit(1);
}

static void gate_wait(int *g)
{
	char c;

	while (read(g[0], &c, 1) != 1)
		if (errno != EINTR)
			fail("gate_read");
}

static void gate_open(int *g)
{
	if (write(g[1], "g", 1) != 1)
		fail("gate_write");
}

/* state letter of task tid (of process tgid), '?' if unreadable */
static char state_of(pid_t tgid, pid_t tid)
{
	char path[64], buf[512], *p;
	int fd, n;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/stat", tgid, tid);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return '?';
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return '?';
	buf[n] = 0;
	p = strrchr(buf, ')');
	return p && p[1] == ' ' ? p[2] : '?';
}

static void wait_d(pid_t tgid, pid_t tid, const char *who)
{
	for (int i = 0; i < 400; i++) {
		if (state_of(tgid, tid) == 'D')
			return;
		nap_ms(50);
	}
	fail(who);
}

static void fact(const char *comm, const char *what, const char *lock,
		 const char *mode, const char *via)
{
	out("fzuser: %s pid=%d tgid=%d comm=%s lock=%s mode=%s via=%s\n", what,
	    my_tid(), getpid(), comm, lock, mode, via);
}

static void *fault_thread(void *unused)
{
	prctl(PR_SET_NAME, "fz_fault");
	fault_tid = my_tid();
	gate_wait(gate_fault);
	/* the fault path takes mmap_lock (read) and keeps it while it waits */
	fact("fz_fault", "GOT", "mmap_lock", "read", "write_fault_on_frozen_fs");
	fact("fz_fault", "WANT", "SB_FREEZE_PAGEFAULT", "read", "ext4_page_mkwrite");
	shared_page[0] = 'w';	/* never returns while frozen */
	return NULL;
}

static void *munmap_thread(void *unused)
{
	prctl(PR_SET_NAME, "fz_munmap");
	munmap_tid = my_tid();
	gate_wait(gate_munmap);
	fact("fz_munmap", "WANT", "mmap_lock", "write", "munmap");
	munmap(anon_map, 4096);
	return NULL;
}

static void make_file(const char *path)
{
	char buf[4096];
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);

	if (fd < 0)
		fail("create");
	memset(buf, 'a', sizeof(buf));
	if (write(fd, buf, sizeof(buf)) != sizeof(buf) || fsync(fd))
		fail("write_fsync");
	close(fd);
}

int main(int argc, char **argv)
{
	char data[256];
	pthread_t t1, t2;
	pid_t child;
	int fd, dfd;
	volatile char c;

	if (argc != 2)
		fail("usage");
	snprintf(data, sizeof(data), "%s/data", argv[1]);
	snprintf(other, sizeof(other), "%s/other", argv[1]);
	make_file(data);
	make_file(other);
	fd = open(data, O_RDWR);
	if (fd < 0)
		fail("open_data");
	shared_page = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	anon_map = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (shared_page == MAP_FAILED || anon_map == MAP_FAILED)
		fail("mmap");
	c = shared_page[0];	/* map the page (read-only PTE) before the freeze */
	(void)c;
	if (pipe(gate_fault) || pipe(gate_munmap) || pipe(gate_writer))
		fail("pipe");

	child = fork();
	if (child < 0)
		fail("fork");
	if (child == 0) {
		int ofd;

		prctl(PR_SET_NAME, "fz_writer");
		ofd = open(other, O_WRONLY);
		if (ofd < 0)
			fail("open_other");
		gate_wait(gate_writer);
		fact("fz_writer", "WANT", "SB_FREEZE_WRITE", "read", "write");
		if (write(ofd, "x", 1) != 1)
			fail("write_other");
		_exit(0);
	}
	if (pthread_create(&t1, NULL, fault_thread, NULL) ||
	    pthread_create(&t2, NULL, munmap_thread, NULL))
		fail("pthread_create");
	while (!fault_tid || !munmap_tid)
		nap_ms(10);
	nap_ms(100);
	sync();

	dfd = open(argv[1], O_RDONLY | O_DIRECTORY);
	if (dfd < 0 || ioctl(dfd, FIFREEZE, 0))
		fail("FIFREEZE");
	out("fzuser: FROZE pid=%d path=%s\n", getpid(), argv[1]);

	gate_open(gate_fault);
	wait_d(getpid(), fault_tid, "fz_fault_not_in_D");
	gate_open(gate_munmap);
	wait_d(getpid(), munmap_tid, "fz_munmap_not_in_D");
	gate_open(gate_writer);
	wait_d(child, child, "fz_writer_not_in_D");
	out("fzuser: PROC tgid=%d fz_fault=%d fz_munmap=%d fz_writer=%d\n", getpid(),
	    fault_tid, munmap_tid, child);
	out("fzuser: READY tgid=%d\n", getpid());
	for (;;)
		pause();
}
