// SPDX-License-Identifier: GPL-2.0
/*
 * lhsample.ko - builds small, known lock hang-ups inside a live kernel so
 * that lockhound's sample crash dumps have an exact ground truth.
 *
 * Part of lockhound (sample_dumps/). Written for the Debian 12 kernel
 * 6.1.0-56-amd64 (generic, non-RT locking); it refuses to load on
 * PREEMPT_RT where mutex/rwsem are rt_mutex based.
 *
 * Load with scenario=NAME:
 *
 *   mmap-pileup  Registers /dev/lhsample. Mapping it and touching the page
 *                calls slowdev_fault(), which never returns: it sleeps in
 *                io_schedule() (TASK_UNINTERRUPTIBLE) while the page-fault
 *                path holds current->mm->mmap_lock for read. The userspace
 *                part (mapuser) and the readers are started by the guest init.
 *   mixed-cycle  Deadlock cycle across lock types:
 *                  cfg_commit   holds cfg_mutex,           waits table_rwsem (write)
 *                  table_scan   holds table_rwsem (read),  waits cfg_mutex
 *                  stats_reader waits table_rwsem (read), queued behind cfg_commit
 *                  cfg_poll     waits cfg_mutex, queued behind table_scan
 *   sem-chain    Chain through a counting semaphore (no owner field):
 *                  dev_reset    holds dev_mutex and sleeps forever in io_schedule()
 *                  fw_loader    holds fw_sem (down()), waits dev_mutex
 *                  fw_request1/2 wait fw_sem
 *
 * Every fact goes to the kernel log with real (%px) addresses, one line each,
 * all starting with "lhs: ":
 *
 *   lhs: LOCK name=N type=mutex|rwsem|semaphore addr=A
 *   lhs: WANT pid= tgid= comm= task= lock=N mode=excl|read|write   (before the call)
 *   lhs: GOT  pid= tgid= comm= task= lock=N mode=...               (after it returned)
 *   lhs: STUCK pid= tgid= comm= task= how=io_schedule where=FUNC   (deliberate hang)
 *   lhs: QUEUE lock=N pos=I pid= tgid= comm= task= mode=...        (wait-list walk)
 *   lhs: RAW lock=N ...                                             (raw lock words)
 *   lhs: SETUP-DONE / SETUP-FAILED why=...
 *
 * Writing "report" to /dev/lhsample walks the real wait lists of all
 * registered locks under their wait_lock, in kernel queue order.
 */
#include <linux/module.h>
#include <linux/kernel.h>
#include <linux/kthread.h>
#include <linux/mutex.h>
#include <linux/rwsem.h>
#include <linux/semaphore.h>
#include <linux/completion.h>
#include <linux/delay.h>
#include <linux/jiffies.h>
#include <linux/sched.h>
#include <linux/sched/mm.h>
#include <linux/miscdevice.h>
#include <linux/fs.h>
#include <linux/mm.h>
#include <linux/uaccess.h>
#include <linux/string.h>
#include <linux/slab.h>
#include <linux/percpu-rwsem.h>
#include <linux/wait.h>
#include <linux/namei.h>
#include <linux/mount.h>
#include <linux/pid.h>

#ifdef CONFIG_PREEMPT_RT
#error "lhsample walks the non-RT mutex/rwsem wait lists; PREEMPT_RT is not supported"
#endif

static char *scenario = "mixed-cycle";
module_param(scenario, charp, 0444);
MODULE_PARM_DESC(scenario, "mmap-pileup | mixed-cycle | sem-chain | table-cycle | frozen-fs");

static int setup_timeout_ms = 20000;
module_param(setup_timeout_ms, int, 0444);
MODULE_PARM_DESC(setup_timeout_ms, "max time to wait for each setup step");

enum lhs_kind { K_MUTEX, K_RWSEM, K_SEM, K_PCPU };
enum lhs_mode { M_EXCL, M_READ, M_WRITE };
static const char *const kind_str[] = { "mutex", "rwsem", "semaphore",
					 "percpu_rwsem" };
static const char *const mode_str[] = { "excl", "read", "write" };

struct lhs_lock {
	const char *name;
	enum lhs_kind kind;
	void *obj;
};

#define LHS_MAXLOCKS 8
static struct lhs_lock reg[LHS_MAXLOCKS];
static int nreg;
static DEFINE_SPINLOCK(reg_lock);

/* the lock objects of the kthread scenarios (module .bss) */
static struct mutex cfg_mutex;
static struct rw_semaphore table_rwsem;
static struct mutex dev_mutex;
static struct semaphore fw_sem;

static struct lhs_lock *register_lock(const char *name, enum lhs_kind kind,
				      void *obj)
{
	struct lhs_lock *l = NULL;

	spin_lock(&reg_lock);
	if (nreg < LHS_MAXLOCKS) {
		l = &reg[nreg++];
		l->name = name;
		l->kind = kind;
		l->obj = obj;
	}
	spin_unlock(&reg_lock);
	if (l)
		pr_info("lhs: LOCK name=%s type=%s addr=0x%px\n", name,
			kind_str[kind], obj);
	return l;
}

static void say_task(const char *what, const struct lhs_lock *l,
		     enum lhs_mode m)
{
	pr_info("lhs: %s pid=%d tgid=%d comm=%s task=0x%px lock=%s mode=%s\n",
		what, current->pid, current->tgid, current->comm, current,
		l->name, mode_str[m]);
}

/* Take a lock, announcing it before and after. */
static void lock_and_log(const struct lhs_lock *l, enum lhs_mode m)
{
	say_task("WANT", l, m);
	switch (l->kind) {
	case K_MUTEX:
		mutex_lock(l->obj);
		break;
	case K_RWSEM:
		if (m == M_READ)
			down_read(l->obj);
		else
			down_write(l->obj);
		break;
	case K_SEM:
		down(l->obj);
		break;
	case K_PCPU:
		percpu_down_read(l->obj);
		break;
	}
	say_task("GOT", l, m);
}

/* Sleep forever as if waiting for an I/O completion that never comes. */
static noinline void wait_io_forever(const char *where)
{
	pr_info("lhs: STUCK pid=%d tgid=%d comm=%s task=0x%px how=io_schedule where=%s\n",
		current->pid, current->tgid, current->comm, current, where);
	for (;;) {
		set_current_state(TASK_UNINTERRUPTIBLE);
		io_schedule();
	}
}

/* ------------------------------------------------------------------ */
/* Wait-list walk. The waiter structs are private to kernel/locking/;   */
/* these mirror their 6.1 layouts (all start with list + task).          */

struct rwsem_waiter_61 {		/* kernel/locking/rwsem.c */
	struct list_head list;
	struct task_struct *task;
	int type;			/* 0 = WAITING_FOR_WRITE, 1 = FOR_READ */
};

struct plain_waiter_61 {		/* mutex_waiter / semaphore_waiter */
	struct list_head list;
	struct task_struct *task;
};

static int walk_list(const struct lhs_lock *l, struct list_head *head)
{
	struct list_head *pos;
	int n = 0;

	list_for_each(pos, head) {
		struct plain_waiter_61 *w = (void *)pos;
		const char *m = "excl";

		if (l->kind == K_RWSEM)
			m = ((struct rwsem_waiter_61 *)pos)->type == 1 ?
				"read" : "write";
		pr_info("lhs: QUEUE lock=%s pos=%d pid=%d tgid=%d comm=%s task=0x%px mode=%s\n",
			l->name, n, w->task->pid, w->task->tgid, w->task->comm,
			w->task, m);
		n++;
	}
	return n;
}

/*
 * percpu_rw_semaphore (5.8+): waiters are wait_queue_entry records on the
 * waiters' stacks in sem->waiters; private = task, WQ_FLAG_CUSTOM marks a
 * reader (kernel/locking/percpu-rwsem.c: percpu_rwsem_wait()).
 */
static struct super_block *frozen_sb;

static int report_pcpu(const struct lhs_lock *l)
{
	struct percpu_rw_semaphore *ps = l->obj;
	struct wait_queue_entry *we;
	unsigned long flags;
	unsigned int sum = 0;
	int cpu, n = 0;

	for_each_possible_cpu(cpu)
		sum += *per_cpu_ptr(ps->read_count, cpu);
	spin_lock_irqsave(&ps->waiters.lock, flags);
	pr_info("lhs: RAW lock=%s block=%d read_count=%u writer=0x%px frozen=%d\n",
		l->name, atomic_read(&ps->block), sum,
		rcu_access_pointer(ps->writer.task),
		frozen_sb ? frozen_sb->s_writers.frozen : -1);
	list_for_each_entry(we, &ps->waiters.head, entry) {
		struct task_struct *t = we->private;

		pr_info("lhs: QUEUE lock=%s pos=%d pid=%d tgid=%d comm=%s task=0x%px mode=%s wq_flags=0x%x\n",
			l->name, n, t->pid, t->tgid, t->comm, t,
			(we->flags & WQ_FLAG_CUSTOM) ? "read" : "write",
			we->flags);
		n++;
	}
	spin_unlock_irqrestore(&ps->waiters.lock, flags);
	return n;
}

static void report_lock(const struct lhs_lock *l)
{
	unsigned long flags;
	int n = 0;

	switch (l->kind) {
	case K_MUTEX: {
		struct mutex *mx = l->obj;

		raw_spin_lock_irqsave(&mx->wait_lock, flags);
		pr_info("lhs: RAW lock=%s owner=0x%lx\n", l->name,
			atomic_long_read(&mx->owner));
		n = walk_list(l, &mx->wait_list);
		raw_spin_unlock_irqrestore(&mx->wait_lock, flags);
		break;
	}
	case K_RWSEM: {
		struct rw_semaphore *rw = l->obj;

		raw_spin_lock_irqsave(&rw->wait_lock, flags);
		pr_info("lhs: RAW lock=%s count=0x%lx owner=0x%lx\n", l->name,
			atomic_long_read(&rw->count),
			atomic_long_read(&rw->owner));
		n = walk_list(l, &rw->wait_list);
		raw_spin_unlock_irqrestore(&rw->wait_lock, flags);
		break;
	}
	case K_SEM: {
		struct semaphore *s = l->obj;

		raw_spin_lock_irqsave(&s->lock, flags);
		pr_info("lhs: RAW lock=%s count=%u\n", l->name, s->count);
		n = walk_list(l, &s->wait_list);
		raw_spin_unlock_irqrestore(&s->lock, flags);
		break;
	}
	case K_PCPU:
		n = report_pcpu(l);
		break;
	}
	pr_info("lhs: QUEUE-END lock=%s waiters=%d\n", l->name, n);
}

/* number of queued waiters of a registered lock (for setup sequencing) */
static int queued(const struct lhs_lock *l)
{
	struct list_head *head, *pos;
	raw_spinlock_t *wl;
	unsigned long flags;
	int n = 0;

	switch (l->kind) {
	case K_MUTEX:
		wl = &((struct mutex *)l->obj)->wait_lock;
		head = &((struct mutex *)l->obj)->wait_list;
		break;
	case K_RWSEM:
		wl = &((struct rw_semaphore *)l->obj)->wait_lock;
		head = &((struct rw_semaphore *)l->obj)->wait_list;
		break;
	case K_PCPU: {
		struct percpu_rw_semaphore *ps = l->obj;
		struct wait_queue_entry *we;

		spin_lock_irqsave(&ps->waiters.lock, flags);
		list_for_each_entry(we, &ps->waiters.head, entry)
			n++;
		spin_unlock_irqrestore(&ps->waiters.lock, flags);
		return n;
	}
	default:
		wl = &((struct semaphore *)l->obj)->lock;
		head = &((struct semaphore *)l->obj)->wait_list;
		break;
	}
	raw_spin_lock_irqsave(wl, flags);
	list_for_each(pos, head)
		n++;
	raw_spin_unlock_irqrestore(wl, flags);
	return n;
}

/* ------------------------------------------------------------------ */
/* Actors: kthreads whose comm is what a user of the dump will see.     */

struct actor {
	const char *comm;
	int (*fn)(void *);
	struct task_struct *task;
	struct completion holding;	/* completed once its first lock is held */
};

static struct lhs_lock *L_cfg, *L_table, *L_dev, *L_fw;
static DECLARE_COMPLETION(go_second);	/* mixed-cycle: both first locks held */

static struct actor a_cfg_commit, a_table_scan, a_dev_reset, a_fw_loader;

/* mixed-cycle */
static int cfg_commit_fn(void *unused)
{
	lock_and_log(L_cfg, M_EXCL);
	complete(&a_cfg_commit.holding);
	wait_for_completion(&go_second);
	lock_and_log(L_table, M_WRITE);		/* blocks: table_scan reads */
	return 0;
}

static int table_scan_fn(void *unused)
{
	lock_and_log(L_table, M_READ);
	complete(&a_table_scan.holding);
	wait_for_completion(&go_second);
	lock_and_log(L_cfg, M_EXCL);		/* blocks: cfg_commit holds it */
	return 0;
}

static int stats_reader_fn(void *unused)
{
	lock_and_log(L_table, M_READ);		/* queued behind the waiting writer */
	return 0;
}

static int cfg_poll_fn(void *unused)
{
	lock_and_log(L_cfg, M_EXCL);
	return 0;
}

/* sem-chain */
static int dev_reset_fn(void *unused)
{
	lock_and_log(L_dev, M_EXCL);
	complete(&a_dev_reset.holding);
	wait_io_forever("dev_reset_fn");
	return 0;
}

static int fw_loader_fn(void *unused)
{
	lock_and_log(L_fw, M_EXCL);
	complete(&a_fw_loader.holding);
	lock_and_log(L_dev, M_EXCL);		/* blocks: dev_reset never lets go */
	return 0;
}

static int fw_request_fn(void *unused)
{
	lock_and_log(L_fw, M_EXCL);
	return 0;
}

static struct actor a_stats_reader, a_cfg_poll, a_fw_request1, a_fw_request2;

static int start_actor(struct actor *a, const char *comm, int (*fn)(void *))
{
	a->comm = comm;
	a->fn = fn;
	init_completion(&a->holding);
	a->task = kthread_run(fn, NULL, "%s", comm);
	if (IS_ERR(a->task)) {
		pr_err("lhs: SETUP-FAILED why=kthread_run_%s_%ld\n", comm,
		       PTR_ERR(a->task));
		return PTR_ERR(a->task);
	}
	return 0;
}

static int wait_holding(struct actor *a)
{
	if (wait_for_completion_timeout(&a->holding,
					msecs_to_jiffies(setup_timeout_ms)))
		return 0;
	pr_err("lhs: SETUP-FAILED why=%s_never_got_its_lock\n", a->comm);
	return -ETIMEDOUT;
}

/* wait until lock l has n queued waiters, i.e. the last actor is asleep in it */
static int wait_queued(const struct lhs_lock *l, int n)
{
	unsigned long end = jiffies + msecs_to_jiffies(setup_timeout_ms);

	while (queued(l) < n) {
		if (time_after(jiffies, end)) {
			pr_err("lhs: SETUP-FAILED why=%s_has_%d_of_%d_waiters\n",
			       l->name, queued(l), n);
			return -ETIMEDOUT;
		}
		msleep(20);
	}
	msleep(50);
	return 0;
}

static int setup_mixed_cycle(void)
{
	int ret;

	mutex_init(&cfg_mutex);
	init_rwsem(&table_rwsem);
	L_cfg = register_lock("cfg_mutex", K_MUTEX, &cfg_mutex);
	L_table = register_lock("table_rwsem", K_RWSEM, &table_rwsem);

	ret = start_actor(&a_cfg_commit, "cfg_commit", cfg_commit_fn);
	if (!ret)
		ret = wait_holding(&a_cfg_commit);
	if (!ret)
		ret = start_actor(&a_table_scan, "table_scan", table_scan_fn);
	if (!ret)
		ret = wait_holding(&a_table_scan);
	if (ret)
		return ret;
	complete_all(&go_second);
	/* both second acquisitions must be queued before the bystanders come */
	ret = wait_queued(L_table, 1);
	if (!ret)
		ret = wait_queued(L_cfg, 1);
	if (!ret)
		ret = start_actor(&a_stats_reader, "stats_reader", stats_reader_fn);
	if (!ret)
		ret = wait_queued(L_table, 2);
	if (!ret)
		ret = start_actor(&a_cfg_poll, "cfg_poll", cfg_poll_fn);
	if (!ret)
		ret = wait_queued(L_cfg, 2);
	return ret;
}

static int setup_sem_chain(void)
{
	int ret;

	mutex_init(&dev_mutex);
	sema_init(&fw_sem, 1);
	L_fw = register_lock("fw_sem", K_SEM, &fw_sem);
	L_dev = register_lock("dev_mutex", K_MUTEX, &dev_mutex);

	ret = start_actor(&a_dev_reset, "dev_reset", dev_reset_fn);
	if (!ret)
		ret = wait_holding(&a_dev_reset);
	if (!ret)
		ret = start_actor(&a_fw_loader, "fw_loader", fw_loader_fn);
	if (!ret)
		ret = wait_holding(&a_fw_loader);
	if (!ret)
		ret = wait_queued(L_dev, 1);
	if (!ret)
		ret = start_actor(&a_fw_request1, "fw_request1", fw_request_fn);
	if (!ret)
		ret = wait_queued(L_fw, 1);
	if (!ret)
		ret = start_actor(&a_fw_request2, "fw_request2", fw_request_fn);
	if (!ret)
		ret = wait_queued(L_fw, 2);
	return ret;
}

/* ------------------------------------------------------------------ */
/*
 * table-cycle: every actor runs the same interpreter over a kmalloc'd
 * program whose operands index a kmalloc'd table of locks, so no code
 * loads a lock's address as a constant. The rwsem is embedded in a
 * kmalloc'd object. Cycle: tc_alpha holds node_rwsem (read) and waits
 * tc_mutex; tc_beta holds tc_mutex and waits tc_sem; tc_gamma holds
 * tc_sem and waits node_rwsem (write). tc_reader also holds node_rwsem
 * for read and sleeps (D); tc_delta is a reader queued behind tc_gamma.
 */
enum tc_opcode { OP_LOCK, OP_HELD, OP_WAIT_GO, OP_SLEEP, OP_END };

struct tc_insn {
	u8 op;
	u8 idx;				/* table index (OP_LOCK) */
	u8 mode;			/* enum lhs_mode (OP_LOCK) */
};

struct tc_prog {
	struct lhs_lock *table;		/* kmalloc'd */
	struct actor *self;
	struct tc_insn code[6];
};

struct tc_node {			/* kmalloc'd object embedding the rwsem */
	u64 id;
	struct list_head link;
	struct rw_semaphore lock;
	char label[16];
};

static struct tc_node *tc_node;
static struct mutex *tc_mutex;
static struct semaphore *tc_sem;
static struct lhs_lock *tc_table;
static DECLARE_COMPLETION(tc_go);
static struct actor a_tc[5];

/* Sleep (D) without I/O, as a holder that just never gets to unlock. */
static noinline void sleep_forever(const char *where)
{
	pr_info("lhs: STUCK pid=%d tgid=%d comm=%s task=0x%px how=schedule_timeout where=%s\n",
		current->pid, current->tgid, current->comm, current, where);
	for (;;)
		schedule_timeout_uninterruptible(MAX_SCHEDULE_TIMEOUT);
}

static noinline int tc_interp(void *arg)
{
	struct tc_prog *p = arg;
	int pc;

	for (pc = 0; pc < ARRAY_SIZE(p->code); pc++) {
		const struct tc_insn *in = &p->code[pc];

		switch (in->op) {
		case OP_LOCK:
			lock_and_log(&p->table[in->idx], in->mode);
			break;
		case OP_HELD:
			complete(&p->self->holding);
			break;
		case OP_WAIT_GO:
			wait_for_completion(&tc_go);
			break;
		case OP_SLEEP:
			sleep_forever("tc_interp");
			break;
		default:
			return 0;
		}
	}
	return 0;
}

static int tc_start(struct actor *a, const char *comm,
		    const struct tc_insn *code, int ncode)
{
	struct tc_prog *p = kzalloc(sizeof(*p), GFP_KERNEL);

	if (!p)
		return -ENOMEM;
	p->table = tc_table;
	p->self = a;
	memcpy(p->code, code, ncode * sizeof(*code));
	if (ncode < ARRAY_SIZE(p->code))
		p->code[ncode].op = OP_END;
	a->comm = comm;
	a->fn = tc_interp;
	init_completion(&a->holding);
	a->task = kthread_run(tc_interp, p, "%s", comm);
	if (IS_ERR(a->task)) {
		pr_err("lhs: SETUP-FAILED why=kthread_run_%s_%ld\n", comm,
		       PTR_ERR(a->task));
		return PTR_ERR(a->task);
	}
	return 0;
}

enum { TC_RW, TC_MX, TC_SEM, TC_N };

static int setup_table_cycle(void)
{
	static const struct tc_insn alpha[] = {
		{ OP_LOCK, TC_RW, M_READ }, { OP_HELD }, { OP_WAIT_GO },
		{ OP_LOCK, TC_MX, M_EXCL } };
	static const struct tc_insn beta[] = {
		{ OP_LOCK, TC_MX, M_EXCL }, { OP_HELD }, { OP_WAIT_GO },
		{ OP_LOCK, TC_SEM, M_EXCL } };
	static const struct tc_insn gamma[] = {
		{ OP_LOCK, TC_SEM, M_EXCL }, { OP_HELD }, { OP_WAIT_GO },
		{ OP_LOCK, TC_RW, M_WRITE } };
	static const struct tc_insn reader[] = {
		{ OP_LOCK, TC_RW, M_READ }, { OP_HELD }, { OP_SLEEP } };
	static const struct tc_insn delta[] = { { OP_LOCK, TC_RW, M_READ } };
	int ret, i;

	tc_node = kzalloc(sizeof(*tc_node), GFP_KERNEL);
	tc_mutex = kzalloc(sizeof(*tc_mutex), GFP_KERNEL);
	tc_sem = kzalloc(sizeof(*tc_sem), GFP_KERNEL);
	tc_table = kcalloc(TC_N, sizeof(*tc_table), GFP_KERNEL);
	if (!tc_node || !tc_mutex || !tc_sem || !tc_table) {
		pr_err("lhs: SETUP-FAILED why=kmalloc\n");
		return -ENOMEM;
	}
	tc_node->id = 42;
	INIT_LIST_HEAD(&tc_node->link);
	strscpy(tc_node->label, "node42", sizeof(tc_node->label));
	init_rwsem(&tc_node->lock);
	mutex_init(tc_mutex);
	sema_init(tc_sem, 1);
	tc_table[TC_RW] = (struct lhs_lock){ "node_rwsem", K_RWSEM, &tc_node->lock };
	tc_table[TC_MX] = (struct lhs_lock){ "tc_mutex", K_MUTEX, tc_mutex };
	tc_table[TC_SEM] = (struct lhs_lock){ "tc_sem", K_SEM, tc_sem };
	for (i = 0; i < TC_N; i++)
		if (!register_lock(tc_table[i].name, tc_table[i].kind,
				   tc_table[i].obj))
			return -ENOSPC;
	pr_info("lhs: OBJECT name=tc_node addr=0x%px size=%zu lock_offset=%zu table=0x%px\n",
		tc_node, sizeof(*tc_node),
		offsetof(struct tc_node, lock), tc_table);

	ret = tc_start(&a_tc[0], "tc_alpha", alpha, ARRAY_SIZE(alpha));
	if (!ret)
		ret = wait_holding(&a_tc[0]);
	if (!ret)
		ret = tc_start(&a_tc[1], "tc_reader", reader, ARRAY_SIZE(reader));
	if (!ret)
		ret = wait_holding(&a_tc[1]);
	if (!ret)
		ret = tc_start(&a_tc[2], "tc_beta", beta, ARRAY_SIZE(beta));
	if (!ret)
		ret = wait_holding(&a_tc[2]);
	if (!ret)
		ret = tc_start(&a_tc[3], "tc_gamma", gamma, ARRAY_SIZE(gamma));
	if (!ret)
		ret = wait_holding(&a_tc[3]);
	if (ret)
		return ret;
	complete_all(&tc_go);
	ret = wait_queued(&tc_table[TC_MX], 1);
	if (!ret)
		ret = wait_queued(&tc_table[TC_SEM], 1);
	if (!ret)
		ret = wait_queued(&tc_table[TC_RW], 1);
	if (!ret)
		ret = tc_start(&a_tc[4], "tc_delta", delta, ARRAY_SIZE(delta));
	if (!ret)
		ret = wait_queued(&tc_table[TC_RW], 2);
	return ret;
}

/* ------------------------------------------------------------------ */
/*
 * frozen-fs: the guest freezes a filesystem and lets tasks pile up on it;
 * "sb PATH" registers the three sb_writers levels of PATH's superblock,
 * "mm PID" the mmap_lock of process PID (both before "report").
 */
/* named like the freeze levels they stop (enum sb_freeze_state, 1-based) */
static const char *const sb_level_name[] = {
	"SB_FREEZE_WRITE", "SB_FREEZE_PAGEFAULT", "SB_FREEZE_FS" };

static int cmd_sb(const char *path)
{
	struct path p;
	struct super_block *sb;
	int i, ret;

	ret = kern_path(path, LOOKUP_FOLLOW, &p);
	if (ret) {
		pr_err("lhs: SETUP-FAILED why=kern_path_%d\n", ret);
		return ret;
	}
	sb = p.mnt->mnt_sb;
	frozen_sb = sb;			/* stays: the fs stays mounted */
	pr_info("lhs: SB sb=0x%px s_id=%s fstype=%s mnt=%s frozen=%d s_writers=0x%px dev=%u:%u\n",
		sb, sb->s_id, sb->s_type->name, path, sb->s_writers.frozen,
		&sb->s_writers, MAJOR(sb->s_dev), MINOR(sb->s_dev));
	path_put(&p);
	for (i = 0; i < SB_FREEZE_LEVELS && i < ARRAY_SIZE(sb_level_name); i++)
		if (!register_lock(sb_level_name[i], K_PCPU,
				   &sb->s_writers.rw_sem[i]))
			return -ENOSPC;
	return 0;
}

static int cmd_mm(const char *arg)
{
	struct task_struct *t;
	struct mm_struct *mm;
	int nr;

	if (kstrtoint(arg, 10, &nr))
		return -EINVAL;
	t = get_pid_task(find_vpid(nr), PIDTYPE_PID);
	if (!t)
		return -ESRCH;
	mm = get_task_mm(t);	/* reference kept: the lock must stay */
	put_task_struct(t);
	if (!mm)
		return -EINVAL;
	pr_info("lhs: MM pid=%d mm=0x%px mmap_lock=0x%px\n", nr, mm,
		&mm->mmap_lock);
	return register_lock("mmap_lock", K_RWSEM, &mm->mmap_lock) ? 0 :
								     -ENOSPC;
}

/* ------------------------------------------------------------------ */
/* /dev/lhsample: mmap target with a never-ending fault; "report" cmd.  */

static struct mm_struct *stuck_mm;

static vm_fault_t slowdev_fault(struct vm_fault *vmf)
{
	struct mm_struct *mm = current->mm;
	struct lhs_lock *l;

	/*
	 * 6.1: do_user_addr_fault() -> lock_mm_and_find_vma() took
	 * mm->mmap_lock for read before we were called (no per-VMA locks).
	 */
	if (cmpxchg(&stuck_mm, NULL, mm) != NULL) {
		pr_err("lhs: SETUP-FAILED why=second_fault_pid_%d\n",
		       current->pid);
		return VM_FAULT_SIGBUS;
	}
	mmgrab(mm);
	l = register_lock("mmap_lock", K_RWSEM, &mm->mmap_lock);
	if (!l)
		return VM_FAULT_SIGBUS;
	pr_info("lhs: FAULT pid=%d tgid=%d mm=0x%px vma=0x%px address=0x%lx flags=0x%x mmap_lock_count=0x%lx\n",
		current->pid, current->tgid, mm, vmf->vma, vmf->address,
		(unsigned int)vmf->flags,
		atomic_long_read(&mm->mmap_lock.count));
	/* the lock was taken by the fault path; we are its (read) holder */
	say_task("GOT", l, M_READ);
	wait_io_forever("slowdev_fault");
	return VM_FAULT_SIGBUS;
}

static const struct vm_operations_struct slowdev_vm_ops = {
	.fault = slowdev_fault,
};

static int slowdev_mmap(struct file *f, struct vm_area_struct *vma)
{
	if (strcmp(scenario, "mmap-pileup"))
		return -ENODEV;
	vma->vm_ops = &slowdev_vm_ops;
	return 0;
}

static ssize_t slowdev_write(struct file *f, const char __user *buf,
			     size_t len, loff_t *off)
{
	char cmd[64] = "";
	int i, ret;

	if (copy_from_user(cmd, buf, min(len, sizeof(cmd) - 1)))
		return -EFAULT;
	strim(cmd);
	if (!strncmp(cmd, "sb ", 3) || !strncmp(cmd, "mm ", 3)) {
		ret = cmd[0] == 's' ? cmd_sb(strim(cmd + 3)) :
				      cmd_mm(strim(cmd + 3));
		return ret ? ret : len;
	}
	if (strncmp(cmd, "report", 6))
		return -EINVAL;
	pr_info("lhs: REPORT-BEGIN scenario=%s locks=%d\n", scenario, nreg);
	for (i = 0; i < nreg; i++)
		report_lock(&reg[i]);
	pr_info("lhs: REPORT-END\n");
	return len;
}

static const struct file_operations slowdev_fops = {
	.owner = THIS_MODULE,
	.mmap = slowdev_mmap,
	.write = slowdev_write,
};

static struct miscdevice slowdev = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "lhsample",
	.fops = &slowdev_fops,
	.mode = 0666,
};

static int __init lhs_init(void)
{
	int ret;

	pr_info("lhs: SCENARIO name=%s\n", scenario);
	ret = misc_register(&slowdev);
	if (ret) {
		pr_err("lhs: SETUP-FAILED why=misc_register_%d\n", ret);
		return ret;
	}
	if (!strcmp(scenario, "mixed-cycle"))
		ret = setup_mixed_cycle();
	else if (!strcmp(scenario, "sem-chain"))
		ret = setup_sem_chain();
	else if (!strcmp(scenario, "table-cycle"))
		ret = setup_table_cycle();
	else if (!strcmp(scenario, "mmap-pileup") ||
		 !strcmp(scenario, "frozen-fs"))
		ret = 0;	/* the guest's userspace drives it */
	else {
		pr_err("lhs: SETUP-FAILED why=unknown_scenario\n");
		ret = -EINVAL;
	}
	/*
	 * Even on failure, stay loaded: kthreads may already sleep in locks
	 * that live in this module. The guest init sees SETUP-FAILED.
	 */
	if (!ret)
		pr_info("lhs: SETUP-DONE scenario=%s\n", scenario);
	return 0;
}
module_init(lhs_init);
/* No module_exit(): the module's locks stay held forever, it cannot unload. */

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("lockhound sample-dump scenarios (known lock hangs)");
